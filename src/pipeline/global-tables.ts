/**
 * Global tables (Kafka Streams' GlobalKTable): every instance reads every partition of these
 * topics into its own LMDB, so state users see as one is the same on every instance — the
 * declaration index (from `kgd.release.decisions`, whichever door a decision came through), the
 * TAC table, the block list, local production, the review table (every partition's waiting
 * requests, from the pending changelog), and the months of the KGD exports loaded.
 *
 * A batch of messages is applied in one LMDB transaction together with the positions after it,
 * so each message is applied exactly once per instance. A batch that fails is not skipped: the
 * reader goes back to the stored positions and tries again; if it keeps failing the process
 * stops with the error (a restart resumes at the same positions).
 *
 * This is the reader; what each table does with its records is in tables.ts.
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { ImeiflowError } from '../errors.js';
import { connect, consume, getMetadata, type KafkaSettings, readerConfig } from '../kafka/client.js';
import { ConsumerLoop } from '../kafka/consumer-loop.js';
import { RetryBudget } from '../kafka/retry-budget.js';
import type { TopicRoleName } from '../kafka/topic-roles.js';
import type { Logger } from '../log.js';
import type { Component } from '../runtime/component.js';
import type { SignatureProblem } from '../security/signed-events.js';
import type { Store } from '../store/store.js';
import { committed, isStoreFull, storeFullError } from '../store/store-full.js';
import type { LogMessage } from './kafka-port.js';
import type { Decoded } from './table-decoders.js';

/** What a batch changed that waiting requests may depend on (rule 7 re-evaluates them). */
export interface IndexChanges {
  readonly bodies: Set<string>;
  readonly applications: Set<string>;
}

/** A message of a table's topic, decoded. */
export interface TableRecord<V> {
  readonly message: LogMessage;
  readonly value: V;
}

export interface GlobalTable<V = unknown> {
  readonly role: TopicRoleName;
  /** What a message must be to be applied (table-decoders.ts); the engine passes what is not. */
  decode(message: LogMessage): Decoded<V>;
  /** Apply records of this table's topic. Runs inside the LMDB write transaction. */
  apply(store: Store, records: readonly TableRecord<V>[], changes: IndexChanges): void;
  /** After the transaction committed (files, caches). */
  afterCommit?(records: readonly TableRecord<V>[]): void;
}

/** A table of any record type, as the engine holds them. */
// biome-ignore lint/suspicious/noExplicitAny: each table's decode and apply agree on V; the engine only passes records between them.
type AnyTable = GlobalTable<any>;

export interface GlobalTablesDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly store: Store;
  readonly log: Logger;
  readonly tables: readonly AnyTable[];
  /** The index changed: owners re-evaluate the requests waiting on it. */
  readonly onChanged: (changes: IndexChanges) => void;
  readonly consumed: (topic: string, count: number) => void;
  /**
   * A message no table can read was passed (the record validator sends it to the DLQ once per
   * cluster): counted and logged here, on every instance that passes it. `refused`: it reads, but
   * is not signed with the cluster key (a forgery: table-decoders.ts).
   */
  readonly skipped: (message: LogMessage, error: string, refused?: SignatureProblem) => void;
  readonly onFatal: (error: Error) => void;
}

/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2;
/** Failed attempts at one batch before the process stops (a restart resumes at the same place). */
const MAX_ATTEMPTS = 5;
/** Failed polls in a row before the process stops (src/kafka/retry-budget.ts). */
const MAX_CONSUME_FAILURES = 50;
const RETRY_DELAY_MS = 1000;

/** LMDB meta key: the next offset of a global table's partition to apply. */
export function positionKey(topic: string, partition: number): string {
  return `global/${topic}/${partition}`;
}

export class GlobalTables implements Component {
  readonly name = 'global tables';
  readonly #deps: GlobalTablesDeps;
  readonly #byTopic = new Map<string, AnyTable>();
  #consumer: Kafka.KafkaConsumer | undefined;
  #assignment: { topic: string; partition: number }[] = [];
  readonly #loop = new ConsumerLoop('global tables');
  #applied = 0;
  #failures = 0;
  #consumeFailures: RetryBudget;
  /** Partitions the broker has reported at their end since the reader started. */
  readonly #atEnd = new Set<string>();

  constructor(deps: GlobalTablesDeps) {
    this.#deps = deps;
    this.#consumeFailures = new RetryBudget(
      'global table reader: consume',
      MAX_CONSUME_FAILURES,
      deps.log,
      deps.onFatal,
    );
    for (const table of deps.tables) this.#byTopic.set(deps.config.topics[table.role], table);
  }

  /** Messages applied since start. */
  get applied(): number {
    return this.#applied;
  }

  get connected(): boolean {
    return this.#consumer?.isConnected() === true;
  }

  notReadyReason(): string | null {
    return this.connected ? null : 'the global table reader is not connected';
  }

  /**
   * The tables hold everything their topics held when the reader started (or later): the broker
   * has reported every partition at its end — not a poll that found nothing.
   */
  get caughtUp(): boolean {
    return this.#assignment.length > 0 && this.#atEnd.size >= this.#assignment.length;
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    // Positions live in LMDB.
    const consumer = new Kafka.KafkaConsumer(
      readerConfig(kafka, { name: 'tables', groupId: config.kafka.groupId, fetchWaitMs: 10 }),
      { 'auto.offset.reset': 'earliest' },
    );
    consumer.on('partition.eof', (event) => this.#atEnd.add(`${event.topic}/${event.partition}`));
    await connect(consumer, 'global table reader');
    consumer.setDefaultConsumeTimeout(50);
    for (const topic of this.#byTopic.keys()) {
      const md = await getMetadata(consumer, topic);
      for (const p of md.topics.find((t) => t.name === topic)?.partitions ?? [])
        this.#assignment.push({ topic, partition: p.id });
    }
    this.#consumer = consumer;
    this.#assignAtStoredPositions();
    this.#loop.run(consumer, () => this.#run());
  }

  /** (Re)start every partition at the position stored with the last applied batch. */
  #assignAtStoredPositions(): void {
    const { store } = this.#deps;
    store.env.resetReadTxn();
    this.#consumer!.assign(
      this.#assignment.map(({ topic, partition }) => {
        const next = store.meta.get(positionKey(topic, partition));
        return { topic, partition, offset: typeof next === 'number' ? next : OFFSET_BEGINNING };
      }),
    );
  }

  async #run(): Promise<void> {
    while (this.#loop.running) {
      let messages: Kafka.Message[];
      try {
        messages = await consume(this.#consumer!, 1000);
        this.#consumeFailures.succeeded();
      } catch (error) {
        if (!this.#consumeFailures.failed(error)) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (messages.length === 0) continue;
      try {
        await this.#apply(messages);
        this.#failures = 0;
      } catch (error) {
        if (isStoreFull(error)) {
          this.#deps.onFatal(storeFullError(this.#deps.config.dataDir, error));
          return;
        }
        this.#failures++;
        this.#deps.log.error(
          { err: error, attempt: this.#failures },
          'applying global table messages failed; going back to the last applied position',
        );
        if (this.#failures >= MAX_ATTEMPTS) {
          this.#deps.onFatal(
            new ImeiflowError(
              'KAFKA_FATAL',
              `global tables: a batch failed ${MAX_ATTEMPTS} times; stopping`,
              {
                cause: error,
              },
            ),
          );
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
        // librdkafka has moved past the failed messages: seek back to what is applied.
        this.#assignAtStoredPositions();
      }
    }
  }

  async #apply(messages: readonly Kafka.Message[]): Promise<void> {
    const { store } = this.#deps;
    const byTopic = new Map<string, Kafka.Message[]>();
    for (const m of messages) {
      const list = byTopic.get(m.topic);
      if (list === undefined) byTopic.set(m.topic, [m]);
      else list.push(m);
    }
    const changes: IndexChanges = { bodies: new Set(), applications: new Set() };
    // A child transaction, so a table that throws midway leaves nothing of the batch behind. An
    // asynchronous `transaction` commits what its callback wrote before it threw (lmdb-js 3.5.6,
    // measured): the positions of the topics applied before the one that threw would move, and
    // their changes would never reach `onChanged`.
    const decoded = new Map<string, TableRecord<unknown>[]>();
    for (const [topic, batch] of byTopic) {
      const table = this.#byTopic.get(topic);
      if (table === undefined) continue;
      const { records, skipped } = decodeAll(table, batch);
      for (const { message, error, refused } of skipped) this.#deps.skipped(message, error, refused);
      decoded.set(topic, records);
    }
    await committed(
      store.env.childTransaction(() => {
        for (const [topic, batch] of byTopic) {
          const records = decoded.get(topic) ?? [];
          if (records.length > 0) this.#byTopic.get(topic)?.apply(store, records, changes);
          // Past every message of the batch, the passed ones included: they are never retried.
          const next = new Map<number, number>();
          for (const m of batch) next.set(m.partition, Math.max(next.get(m.partition) ?? 0, m.offset + 1));
          for (const [partition, offset] of next) store.meta.put(positionKey(topic, partition), offset);
        }
      }),
    );
    for (const [topic, batch] of byTopic) {
      const records = decoded.get(topic) ?? [];
      if (records.length > 0) this.#byTopic.get(topic)?.afterCommit?.(records);
      this.#deps.consumed(topic, batch.length);
    }
    this.#applied += messages.length;
    this.#deps.onChanged(changes);
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }
}

/** A message a table passed, and why; `refused`: not signed with the cluster key. */
export interface SkippedRecord {
  readonly message: LogMessage;
  readonly error: string;
  readonly refused?: SignatureProblem;
}

/** A table's messages decoded: the records it applies, and the messages it passes, with why. */
export function decodeAll<V>(
  table: GlobalTable<V>,
  messages: readonly LogMessage[],
): { records: TableRecord<V>[]; skipped: SkippedRecord[] } {
  const records: TableRecord<V>[] = [];
  const skipped: SkippedRecord[] = [];
  for (const message of messages) {
    const record = table.decode(message);
    if (record.ok) records.push({ message, value: record.value });
    else
      skipped.push({
        message,
        error: record.error,
        ...(record.refused === undefined ? {} : { refused: record.refused }),
      });
  }
  return { records, skipped };
}

/**
 * Decode and apply one batch of a table's messages, as the engine does inside its transaction
 * (for tools and tests that drive a table without Kafka). Returns the messages passed.
 */
export function applyMessages<V>(
  table: GlobalTable<V>,
  store: Store,
  messages: readonly LogMessage[],
  changes: IndexChanges,
): SkippedRecord[] {
  const { records, skipped } = decodeAll(table, messages);
  if (records.length > 0) table.apply(store, records, changes);
  return skipped;
}
