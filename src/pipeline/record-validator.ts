/**
 * A release decision that cannot be used goes to the DLQ once — not once per instance, though
 * every instance reads every decision into its declaration index. The validator is a consumer
 * group of its own on the decisions topic: each decisions partition has one validator at a time,
 * which writes the DLQ entry of a bad decision and then commits past it.
 *
 * A crash between the DLQ write and the commit would write it again; to avoid that, the entry
 * carries a header naming its source, and a validator taking over a partition first reads the end
 * of the DLQ partition for entries it has already written.
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { dlqMessage } from '../domain/outputs.js';
import { parseReleaseDecision } from '../domain/release-decision.js';
import { connect, consume, consumerConfig, disconnect, type KafkaSettings } from '../kafka/client.js';
import type { Logger } from '../log.js';
import { headerOf, keyOf, type LogMessage, type OutputSink, type PartitionLog } from './kafka-port.js';

/** Header of a DLQ entry the validator wrote: `<decisions partition>.<offset>`. */
export const SOURCE_HEADER = 'imeiflow-source';
/** DLQ messages read back when a partition is taken over. */
const LOOK_BACK = 512;

export interface DecisionValidatorDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly producer: OutputSink;
  readonly reader: PartitionLog;
  readonly log: Logger;
  /** Partitions of the device topics (the DLQ partition of decisions partition d is d mod this). */
  readonly partitions: number;
}

/** The topic a DLQ entry's body names as its source (src/domain/outputs.ts `dlqMessage`). */
function sourceTopicOf(message: LogMessage): string | undefined {
  try {
    const { topic } = JSON.parse(message.value?.toString('utf8') ?? 'null') as { topic?: unknown };
    return typeof topic === 'string' ? topic : undefined;
  } catch {
    return undefined;
  }
}

export class DecisionValidator {
  readonly #deps: DecisionValidatorDeps;
  #consumer: Kafka.KafkaConsumer | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  /** Per decisions partition: the last offset already in the DLQ (read once after an assignment). */
  readonly #written = new Map<number, number>();
  rejected = 0;

  constructor(deps: DecisionValidatorDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const consumer = new Kafka.KafkaConsumer(
      {
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
    await connect(consumer, 'decision validator');
    consumer.setDefaultConsumeTimeout(100);
    consumer.subscribe([config.topics.decisions]);
    this.#consumer = consumer;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        const messages = await consume(this.#consumer!, 500);
        if (messages.length > 0) await this.#validate(messages);
      } catch (error) {
        // Nothing was committed past the failed batch: re-read it from the committed offsets.
        this.#deps.log.error({ err: error }, 'validating release decisions failed; going back');
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

  async #alreadyWritten(decisionsPartition: number): Promise<number> {
    const known = this.#written.get(decisionsPartition);
    if (known !== undefined) return known;
    const { config } = this.#deps;
    const dlqPartition = decisionsPartition % this.#deps.partitions;
    let last = -1;
    for (const m of await this.#deps.reader.lastMessages(config.topics.dlq, dlqPartition, LOOK_BACK)) {
      const [partition, offset] = (headerOf(m, SOURCE_HEADER) ?? '').split('.').map(Number);
      if (partition !== decisionsPartition || offset === undefined || offset <= last) continue;
      // The header names no topic: an entry from another decisions topic (a renamed one, or one
      // recreated with offsets from 0) must not hide this topic's bad decisions.
      if (sourceTopicOf(m) === config.topics.decisions) last = offset;
    }
    this.#written.set(decisionsPartition, last);
    return last;
  }

  async #validate(messages: readonly Kafka.Message[]): Promise<void> {
    const { config, producer } = this.#deps;
    const at = new Date().toISOString();
    const dlq = [];
    for (const m of messages) {
      const p = parseReleaseDecision(m.value);
      const error = !p.ok
        ? p.error
        : p.badImeis.length > 0
          ? `release decision lists invalid IMEIs: ${p.badImeis.join('; ')}`
          : undefined;
      if (error === undefined) continue;
      if (m.offset <= (await this.#alreadyWritten(m.partition))) continue;
      const key = keyOf(m);
      dlq.push({
        topic: config.topics.dlq,
        partition: m.partition % this.#deps.partitions,
        key,
        value: Buffer.from(
          dlqMessage({ topic: m.topic, partition: m.partition, offset: m.offset, key }, m.value, error, at),
        ),
        headers: [{ [SOURCE_HEADER]: `${m.partition}.${m.offset}` }],
      });
      this.#written.set(m.partition, m.offset);
    }
    if (dlq.length > 0) {
      await producer.send(dlq);
      this.rejected += dlq.length;
      this.#deps.log.warn({ count: dlq.length }, 'release decisions sent to the DLQ');
    }
    const next = new Map<number, number>();
    for (const m of messages) next.set(m.partition, Math.max(next.get(m.partition) ?? 0, m.offset + 1));
    this.#consumer!.commit(
      [...next].map(([partition, offset]) => ({ topic: config.topics.decisions, partition, offset })),
    );
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    if (this.#consumer !== undefined) await disconnect(this.#consumer);
  }
}
