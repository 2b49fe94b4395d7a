/**
 * A record of a table topic that cannot be used — a release decision, a TAC or block-list row, a
 * token or audit event, a review-table or export record, a БДИК confirmation or revocation the
 * registry view reads — goes to the DLQ once, not once per instance, though every instance reads
 * such topics into its tables (and passes what it cannot read: table-reader.ts; the registry view
 * reads the partitions other instances own, so a bad record there too is passed by all but its
 * owner). The validator is a consumer group of its own on those topics:
 * each partition has one validator at a time, which writes the DLQ entry of a bad record and then
 * commits past it. What is unusable is what the tables' own decoders refuse (table-decoders.ts),
 * the same decoders, so an event of the tokens or audit topic without the cluster key's signature
 * goes to the DLQ too (issue 22, point 5).
 *
 * A crash between the DLQ write and the commit would write it again; to avoid that, the entry
 * carries a header naming its source, and a validator taking over a partition first reads the end
 * of the DLQ partition for entries it has already written.
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { dlqKey, dlqMessage } from '../domain/outputs.js';
import { connect, consume, consumerConfig, type KafkaSettings } from '../kafka/client.js';
import { ConsumerLoop } from '../kafka/consumer-loop.js';
import { RetryBudget } from '../kafka/retry-budget.js';
import { TOPIC_ROLE_NAMES, type TopicRoleName } from '../kafka/topic-roles.js';
import type { Logger } from '../log.js';
import { keyOf, type LogMessage, type OutputSink, type PartitionLog } from './kafka-port.js';
import { placeHeader, placeOf, SOURCE_HEADER } from './positions.js';
import { type TableDecoders, VALIDATED_ROLES } from './table-decoders.js';

/** Header of a DLQ entry the validator wrote: `<source partition>.<offset>` (the body names the topic). */
/** DLQ messages read back when a partition is taken over. */
const LOOK_BACK = 512;

export interface RecordValidatorDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly producer: OutputSink;
  readonly reader: PartitionLog;
  readonly log: Logger;
  /** The tables' decoders (the signed topics' verifying with the cluster key): what they refuse goes to the DLQ. */
  readonly decoders: TableDecoders;
  /** Partitions of the device topics (the DLQ partition of source partition p is p mod this). */
  readonly partitions: number;
  /** DLQ entries written for records of `topic`. */
  readonly rejected?: (topic: string, count: number) => void;
  /** The validator cannot go on (its loop failed too often): the process should exit and restart. */
  readonly onFatal: (error: Error) => void;
}

/** Failed batches in a row before the process stops (src/kafka/retry-budget.ts). */
const MAX_FAILURES = 30;

/** The topic a DLQ entry's body names as its source (src/domain/outputs.ts `dlqMessage`). */
function sourceTopicOf(message: LogMessage): string | undefined {
  try {
    const { topic } = JSON.parse(message.value?.toString('utf8') ?? 'null') as { topic?: unknown };
    return typeof topic === 'string' ? topic : undefined;
  } catch {
    return undefined;
  }
}

export class RecordValidator {
  readonly #deps: RecordValidatorDeps;
  /** The watched topics' names → their roles. */
  readonly #roleOf: ReadonlyMap<string, TopicRoleName>;
  readonly #retries: RetryBudget;
  #consumer: Kafka.KafkaConsumer | undefined;
  readonly #loop = new ConsumerLoop('record validator');
  /** Per `<topic>/<partition>`: the last offset already in the DLQ (read once after an assignment). */
  readonly #written = new Map<string, number>();
  rejected = 0;

  constructor(deps: RecordValidatorDeps) {
    this.#deps = deps;
    this.#retries = new RetryBudget('record validator', MAX_FAILURES, deps.log, deps.onFatal);
    const { topics } = deps.config;
    this.#roleOf = new Map(
      TOPIC_ROLE_NAMES.filter((role) => VALIDATED_ROLES.includes(role)).map((role) => [topics[role], role]),
    );
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const consumer = new Kafka.KafkaConsumer(
      {
        // The group of the validator when it watched the decisions only: its offsets carry over.
        ...consumerConfig(kafka, `${config.kafka.groupId}.decisions-validator`),
        'client.id': `${kafka.clientId}-validator`,
        rebalance_cb: (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) => {
          this.#written.clear();
          if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) consumer.assign(assignment);
          else consumer.unassign();
        },
      },
      { 'auto.offset.reset': 'earliest' },
    );
    await connect(consumer, 'record validator');
    consumer.setDefaultConsumeTimeout(100);
    consumer.subscribe([...this.#roleOf.keys()]);
    this.#consumer = consumer;
    this.#loop.run(consumer, () => this.#run());
  }

  async #run(): Promise<void> {
    while (this.#loop.running) {
      try {
        const messages = await consume(this.#consumer!, 500);
        if (messages.length > 0) await this.#validate(messages);
        this.#retries.succeeded();
      } catch (error) {
        // Nothing was committed past the failed batch: re-read it from the committed offsets.
        if (!this.#retries.failed(error)) return;
        await new Promise((r) => setTimeout(r, 1000));
        this.#seekToCommitted();
      }
    }
  }

  #seekToCommitted(): void {
    const consumer = this.#consumer!;
    const assignment = consumer.assignments();
    this.#written.clear();
    consumer.unassign();
    consumer.assign(assignment.map(({ topic, partition }) => ({ topic, partition })));
  }

  async #alreadyWritten(topic: string, sourcePartition: number): Promise<number> {
    const id = `${topic}/${sourcePartition}`;
    const known = this.#written.get(id);
    if (known !== undefined) return known;
    const { config } = this.#deps;
    const dlqPartition = sourcePartition % this.#deps.partitions;
    let last = -1;
    for (const m of await this.#deps.reader.lastMessages(config.topics.dlq, dlqPartition, LOOK_BACK)) {
      const source = placeOf(m, SOURCE_HEADER);
      if (source === undefined || source.partition !== sourcePartition || source.offset <= last) continue;
      // The header names no topic: an entry from another topic (a renamed one, or one recreated
      // with offsets from 0) must not hide this topic's bad records.
      if (sourceTopicOf(m) === topic) last = source.offset;
    }
    this.#written.set(id, last);
    return last;
  }

  async #validate(messages: readonly Kafka.Message[]): Promise<void> {
    const { config, producer } = this.#deps;
    const at = new Date().toISOString();
    const dlq = [];
    const byTopic = new Map<string, number>();
    for (const m of messages) {
      const role = this.#roleOf.get(m.topic);
      const error = role === undefined ? undefined : this.#deps.decoders.problem(role, m);
      if (error === undefined) continue;
      if (m.offset <= (await this.#alreadyWritten(m.topic, m.partition))) continue;
      const key = keyOf(m);
      dlq.push({
        topic: config.topics.dlq,
        partition: m.partition % this.#deps.partitions,
        key: dlqKey(key),
        value: Buffer.from(
          dlqMessage({ topic: m.topic, partition: m.partition, offset: m.offset, key }, m.value, error, at),
        ),
        headers: [placeHeader(SOURCE_HEADER, m)],
      });
      this.#written.set(`${m.topic}/${m.partition}`, m.offset);
      byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1);
    }
    if (dlq.length > 0) {
      await producer.send(dlq);
      this.rejected += dlq.length;
      for (const [topic, count] of byTopic) this.#deps.rejected?.(topic, count);
      this.#deps.log.warn(
        { count: dlq.length, topics: [...byTopic.keys()] },
        'internal records sent to the DLQ',
      );
    }
    const next = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const m of messages) {
      const id = `${m.topic}/${m.partition}`;
      const offset = Math.max(next.get(id)?.offset ?? 0, m.offset + 1);
      next.set(id, { topic: m.topic, partition: m.partition, offset });
    }
    this.#consumer!.commit([...next.values()]);
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }
}
