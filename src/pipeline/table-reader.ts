/**
 * The engine that reads topics into LMDB at stored positions (Kafka Streams' global state update
 * task), for the global tables (global-tables.ts: every partition of their topics) and the
 * registry view (registry-view.ts: the partitions of БДИК's changelog owned elsewhere, re-assigned
 * when ownership changes).
 *
 * Each topic has a table: a decoder (table-decoders.ts) says what a message must be to be applied,
 * and `apply` what it does to the store. A batch of messages is applied in one LMDB transaction
 * together with the positions after it, so each message is applied exactly once per instance. A
 * message its table cannot decode is passed, never retried, and reported to `skipped` (counted,
 * logged) once, after the transaction that passes it commits; the record validator sends it to
 * the DLQ once per cluster (record-validator.ts). A batch that fails is not skipped: the reader
 * goes back to the stored positions and tries again; if it keeps failing the process stops with
 * the error (a restart resumes at the same positions).
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { ImeiflowError } from '../errors.js';
import { connect, consume, getMetadata, type KafkaSettings, readerConfig } from '../kafka/client.js';
import { ConsumerLoop } from '../kafka/consumer-loop.js';
import { RetryBudget } from '../kafka/retry-budget.js';
import type { TopicRoleName } from '../kafka/topic-roles.js';
import type { Logger } from '../log.js';
import type { SignatureProblem } from '../security/signed-events.js';
import { allOrNothing, type Store } from '../store/store.js';
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

/** What the engine reads one topic into. */
export interface Table<V = unknown> {
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
export type AnyTable = Table<any>;

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** What one reader is: its name, its client, where it keeps its positions, how often it retries. */
export interface ReaderKind {
  /** The component's name: its loop's, and the errors' it stops with. */
  readonly name: string;
  /** Its Kafka client's name (`client.id` and group suffix). */
  readonly client: string;
  /** What its logs and its consume budget call the reader. */
  readonly label: string;
  readonly fetchWaitMs: number;
  readonly pollMs: number;
  /** Read every partition of the tables' topics (the global tables); otherwise what `assign` gives. */
  readonly everyPartition: boolean;
  /** LMDB meta key: the next offset of a partition to apply. */
  positionKey(topic: string, partition: number): string;
  /** Failed polls in a row before the process stops (src/kafka/retry-budget.ts). */
  readonly maxConsumeFailures: number;
  /** Failed attempts at one batch before the process stops (a restart resumes at the same place). */
  readonly maxAttempts: number;
}

export interface TableReaderDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly store: Store;
  readonly log: Logger;
  readonly tables: readonly AnyTable[];
  /** The index changed: owners re-evaluate the requests waiting on it. */
  readonly onChanged?: (changes: IndexChanges) => void;
  readonly consumed?: (topic: string, count: number) => void;
  /**
   * A message its table cannot read was passed (the record validator sends it to the DLQ once per
   * cluster): counted and logged here, on every instance that passes it. `refused`: it reads, but
   * is not signed with the cluster key (a forgery: table-decoders.ts).
   */
  readonly skipped: (message: LogMessage, error: string, refused?: SignatureProblem) => void;
  readonly onFatal: (error: Error) => void;
}

/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2;
const RETRY_DELAY_MS = 1000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class TableReader {
  readonly #kind: ReaderKind;
  readonly #deps: TableReaderDeps;
  readonly #byTopic = new Map<string, AnyTable>();
  readonly #loop: ConsumerLoop;
  readonly #consumeFailures: RetryBudget;
  #consumer: Kafka.KafkaConsumer | undefined;
  #assignment: readonly TopicPartition[] = [];
  #assigned = false;
  #applied = 0;
  #failures = 0;
  /** Partitions the broker has reported at their end since the reader started. */
  readonly #atEnd = new Set<string>();

  constructor(kind: ReaderKind, deps: TableReaderDeps) {
    this.#kind = kind;
    this.#deps = deps;
    this.#loop = new ConsumerLoop(kind.name);
    this.#consumeFailures = new RetryBudget(
      `${kind.label}: consume`,
      kind.maxConsumeFailures,
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

  /**
   * Everything the assigned partitions held when the reader started (or later) is applied: the
   * broker has reported each at its end — not a poll that found nothing.
   */
  get caughtUp(): boolean {
    const atEnd = this.#assignment.filter(({ topic, partition }) => this.#atEnd.has(`${topic}/${partition}`));
    return this.#assignment.length > 0 && atEnd.length >= this.#assignment.length;
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const kind = this.#kind;
    // Positions live in LMDB.
    const consumer = new Kafka.KafkaConsumer(
      readerConfig(kafka, {
        name: kind.client,
        groupId: config.kafka.groupId,
        fetchWaitMs: kind.fetchWaitMs,
      }),
      { 'auto.offset.reset': 'earliest' },
    );
    consumer.on('partition.eof', (event) => this.#atEnd.add(`${event.topic}/${event.partition}`));
    await connect(consumer, kind.label);
    consumer.setDefaultConsumeTimeout(kind.pollMs);
    if (kind.everyPartition) {
      const assignment: TopicPartition[] = [];
      for (const topic of this.#byTopic.keys()) {
        const md = await getMetadata(consumer, topic);
        for (const p of md.topics.find((t) => t.name === topic)?.partitions ?? [])
          assignment.push({ topic, partition: p.id });
      }
      this.#assignment = assignment;
    }
    this.#consumer = consumer;
    this.#assignAtStoredPositions();
    this.#loop.run(consumer, () => this.#run());
  }

  /** Read these partitions (and only these) from their stored positions. */
  assign(partitions: readonly TopicPartition[]): void {
    this.#assignment = partitions;
    if (this.#consumer !== undefined) this.#assignAtStoredPositions();
  }

  /** (Re)start every assigned partition at the position stored with the last applied batch. */
  #assignAtStoredPositions(): void {
    const { store } = this.#deps;
    const consumer = this.#consumer!;
    store.env.resetReadTxn();
    const assignment = this.#assignment.map(({ topic, partition }) => {
      const next = store.meta.get(this.#kind.positionKey(topic, partition));
      return { topic, partition, offset: typeof next === 'number' ? next : OFFSET_BEGINNING };
    });
    if (assignment.length > 0) consumer.assign(assignment);
    else if (this.#assigned) consumer.unassign();
    this.#assigned = assignment.length > 0;
  }

  async #run(): Promise<void> {
    while (this.#loop.running) {
      if (!this.#assigned) {
        await pause(200);
        continue;
      }
      let messages: Kafka.Message[];
      try {
        messages = await consume(this.#consumer!, 1000);
        this.#consumeFailures.succeeded();
      } catch (error) {
        if (!this.#consumeFailures.failed(error)) return;
        await pause(200);
        continue;
      }
      if (messages.length === 0) continue;
      try {
        await this.#apply(messages);
        this.#failures = 0;
      } catch (error) {
        if (!(await this.#retry(error))) return;
      }
    }
  }

  /** A batch failed: false when the process must stop; otherwise back to the stored positions. */
  async #retry(error: unknown): Promise<boolean> {
    const { config, log, onFatal } = this.#deps;
    const kind = this.#kind;
    if (isStoreFull(error)) {
      onFatal(storeFullError(config.dataDir, error));
      return false;
    }
    this.#failures++;
    log.error(
      { err: error, attempt: this.#failures },
      `applying ${kind.name} messages failed; going back to the last applied position`,
    );
    if (this.#failures >= kind.maxAttempts) {
      const message = `${kind.name}: a batch failed ${kind.maxAttempts} times; stopping`;
      onFatal(new ImeiflowError('KAFKA_FATAL', message, { cause: error }));
      return false;
    }
    await pause(RETRY_DELAY_MS);
    // librdkafka has moved past the failed messages: seek back to what is applied.
    this.#assignAtStoredPositions();
    return true;
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
    const decoded = new Map<string, { records: TableRecord<unknown>[]; skipped: SkippedRecord[] }>();
    for (const [topic, batch] of byTopic) {
      const table = this.#byTopic.get(topic);
      if (table !== undefined) decoded.set(topic, decodeAll(table, batch));
    }
    // All or nothing: a table that throws midway must leave nothing of the batch behind, or the
    // positions of the topics applied before the one that threw would move, and their changes
    // would never reach `onChanged`.
    await committed(
      allOrNothing(store, () => {
        for (const [topic, batch] of byTopic) {
          const records = decoded.get(topic)?.records ?? [];
          if (records.length > 0) this.#byTopic.get(topic)?.apply(store, records, changes);
          // Past every message of the batch, the passed ones included: they are never retried.
          const next = new Map<number, number>();
          for (const m of batch) next.set(m.partition, Math.max(next.get(m.partition) ?? 0, m.offset + 1));
          for (const [partition, offset] of next)
            store.meta.put(this.#kind.positionKey(topic, partition), offset);
        }
      }),
    );
    // The passed messages are reported once the positions past them are committed (a batch that
    // failed is read again, and they would be counted again with it), and before any table's
    // afterCommit, which may throw: the positions are past them already, so they would never be.
    for (const [, { skipped }] of decoded) {
      for (const { message, error, refused } of skipped) this.#deps.skipped(message, error, refused);
    }
    for (const [topic, batch] of byTopic) {
      const records = decoded.get(topic)?.records ?? [];
      if (records.length > 0) this.#byTopic.get(topic)?.afterCommit?.(records);
      this.#deps.consumed?.(topic, batch.length);
    }
    this.#applied += messages.length;
    this.#deps.onChanged?.(changes);
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
  table: Table<V>,
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
  table: Table<V>,
  store: Store,
  messages: readonly LogMessage[],
  changes: IndexChanges,
): SkippedRecord[] {
  const { records, skipped } = decodeAll(table, messages);
  if (records.length > 0) table.apply(store, records, changes);
  return skipped;
}
