/**
 * The request pipeline: a consumer group on the requests and commands topics, one processing
 * cycle at a time per partition, verification in the worker pool, and the journal as the
 * exactly-once commit point (see journal.ts).
 *
 * A cycle for partition N: take a batch (commands first) → decide it (workers for requests, this
 * thread for commands) → append the journal record → apply the batch's state to LMDB → publish
 * its outputs → take the next batch. A partition's next batch is decided only after the previous
 * one's state is in LMDB, so repeated IMEIs and requestIds see each other.
 *
 * Partition changes hands with the eager protocol: on revoke, in-flight cycles finish or are
 * abandoned before `unassign`, so no two owners ever publish to one partition; on assign, each
 * partition is recovered from its journal and changelog before `assign` starts fetching at the
 * journal's positions.
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { dlqMessage } from '../domain/outputs.js';
import type { RuleSettings } from '../domain/rules.js';
import { ImeiflowError, isImeiflowError, messageOf } from '../errors.js';
import {
  connect,
  consume,
  consumerConfig,
  disconnect,
  headerValue,
  type KafkaSettings,
} from '../kafka/client.js';
import type { DeliveringProducer, OutgoingMessage } from '../kafka/delivering-producer.js';
import type { PartitionReader } from '../kafka/partition-reader.js';
import type { Logger } from '../log.js';
import type { BatchResult, EncodingFlag } from '../pool/batch-contract.js';
import { ENCODING_JSON, ENCODING_MSGPACK } from '../pool/batch-contract.js';
import { requestSource } from '../pool/verify-batch.js';
import type { VerifyPool } from '../pool/verify-pool.js';
import { lmdbIndexView } from '../store/index-view.js';
import type { Store } from '../store/store.js';
import { BatchEffects, type DeadlinePolicy } from './batch-effects.js';
import { applyChangelogRecord, applyOwnChangelogRecord } from './changelog.js';
import type { AddressedCommand, CommandBus } from './command-bus.js';
import { applyCommand, parseCommand } from './commands.js';
import {
  CHANGELOG_ROLES,
  decodeJournal,
  encodeJournal,
  type InputPositions,
  JOURNAL_WINDOW,
  type JournalRecord,
  journalKey,
  missingOutputs,
  OUTPUT_ROLES,
  outcomeToStore,
  type RoleCode,
} from './journal.js';
import type { PipelineObserver } from './observer.js';

/** Header carrying `<seq>.<idx>` of the journal record an output came from. */
export const POSITION_HEADER = 'imeiflow-pos';

type PartitionStatus = 'recovering' | 'active' | 'revoked';

interface PartitionRuntime {
  readonly partition: number;
  status: PartitionStatus;
  readonly requests: Kafka.Message[];
  readonly commands: Kafka.Message[];
  /** Positions after the last journaled batch. */
  next: InputPositions;
  /** Next offsets expected from the fetcher; anything older is a re-fetch and is dropped. */
  fetched: { requests: number; commands: number };
  seq: number;
  /** A batch being verified by the pool (stage one of a cycle). */
  deciding: Promise<void> | undefined;
  /** Tail of this partition's commit chain (stage two: journal, apply, publish), one at a time. */
  committing: Promise<void>;
  /** Batches queued on the commit chain and not yet started. */
  waiting: number;
  /** Batches committed so far, and what the last few wrote that a decision may have read. */
  commitSeq: number;
  recentWrites: WriteSet[];
  /** Deliveries of journaled batches still being published, oldest first. */
  publishing: Promise<void>[];
  /** Resolves when the last publish has handed all its messages to librdkafka. */
  enqueued: Promise<void>;
  lastHint: number;
}

/** What a committed batch changed that a concurrently verified batch may have read. */
interface WriteSet {
  readonly seq: number;
  /** Requests given a final outcome (rule 10 reads them). */
  readonly requestIds: ReadonlySet<string>;
  /** Devices whose registry entry changed (rule 5 reads them). */
  readonly bodies: ReadonlySet<string>;
}

/** How many committed write sets to keep: more than can overlap one verification. */
const RECENT_WRITES = 4;

export interface RequestPipelineDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly store: Store;
  readonly pool: VerifyPool;
  readonly producer: DeliveringProducer;
  readonly reader: PartitionReader;
  readonly commandBus: CommandBus;
  readonly observer: PipelineObserver;
  readonly log: Logger;
  /** Called when the pipeline cannot go on safely; the process should exit and restart. */
  readonly onFatal: (error: Error) => void;
}

const ESTIMATED_OUTPUT_BYTES_PER_MESSAGE = 900;
/** Journal records stay well below the 4 MB message limit set on the producer and topic. */
const MAX_JOURNAL_BYTES = 2 * 1024 * 1024;
const COMMIT_HINT_INTERVAL_MS = 1000;

function keyOf(message: Kafka.Message): string | null {
  const key = message.key;
  if (key === null || key === undefined) return null;
  return typeof key === 'string' ? key : key.toString('utf8');
}

function encodingOf(message: Kafka.Message): EncodingFlag {
  return message.headers !== undefined && headerValue(message, 'content-type') === 'application/msgpack'
    ? ENCODING_MSGPACK
    : ENCODING_JSON;
}

/** LMDB meta key: the changelog offset up to which this instance's state is current. */
function restoredKey(topic: string, partition: number): string {
  return `restored/${topic}/${partition}`;
}

function asBuffer(value: Uint8Array | null): Buffer | null {
  if (value === null) return null;
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
}

export class RequestPipeline {
  readonly #deps: RequestPipelineDeps;
  readonly #topics: Config['topics'];
  readonly #roleTopics: readonly string[];
  readonly #rules: RuleSettings;
  readonly #deadlines: DeadlinePolicy;
  readonly #runtimes = new Map<number, PartitionRuntime>();
  readonly #maxQueued: number;
  #consumer: Kafka.KafkaConsumer | undefined;
  #generation = 0;
  #assignedOnce = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #recovering: Promise<void> = Promise.resolve();
  #unassigning: Promise<void> = Promise.resolve();

  constructor(deps: RequestPipelineDeps) {
    this.#deps = deps;
    const { config } = deps;
    this.#topics = config.topics;
    this.#roleTopics = OUTPUT_ROLES.map((role) => config.topics[role]);
    this.#rules = { eligibleProcedures: new Set(config.rules.eligibleProcedures) };
    this.#deadlines = {
      workingDays: config.pending.deadlineWorkingDays,
      calendar: {
        utcOffsetMinutes: config.pending.utcOffsetMinutes,
        holidays: new Set(config.pending.holidays),
      },
    };
    this.#maxQueued = config.pipeline.batchMaxMessages * 8;
  }

  /** Partitions this instance owns and has recovered. */
  get activePartitions(): number[] {
    return [...this.#runtimes.values()].filter((r) => r.status === 'active').map((r) => r.partition);
  }

  /** Connected, through its first rebalance, and no partition still recovering. */
  get ready(): boolean {
    return (
      this.#consumer?.isConnected() === true &&
      this.#assignedOnce &&
      [...this.#runtimes.values()].every((r) => r.status !== 'recovering')
    );
  }

  get queuedMessages(): number {
    let n = 0;
    for (const r of this.#runtimes.values()) n += r.requests.length + r.commands.length;
    return n;
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const consumer = new Kafka.KafkaConsumer(
      {
        ...consumerConfig(kafka, config.kafka.groupId),
        // Per-partition consumer lag for the metrics.
        'statistics.interval.ms': 5_000,
        rebalance_cb: (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) =>
          this.#onRebalance(err, assignment),
      },
      { 'auto.offset.reset': 'earliest' },
    );
    consumer.on('event.stats', (stats) => this.#deps.observer.kafkaStatistics(stats.message));
    consumer.on('event.error', (err) => this.#deps.log.warn({ err: err }, 'request consumer error'));
    await connect(consumer, 'request consumer');
    consumer.setDefaultConsumeTimeout(Math.max(5, config.pipeline.batchMaxWaitMs));
    consumer.subscribe([this.#topics.requests, this.#topics.commands]);
    this.#consumer = consumer;
    this.#loop = this.#consumeLoop();
  }

  // ── fetching ─────────────────────────────────────────────────────────────────────────────

  async #consumeLoop(): Promise<void> {
    const consumer = this.#consumer!;
    const max = this.#deps.config.pipeline.batchMaxMessages;
    while (!this.#stopping) {
      let messages: Kafka.Message[];
      try {
        messages = await consume(consumer, max);
      } catch (error) {
        this.#deps.log.warn({ err: error }, 'consume failed; retrying');
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (messages.length > 0) this.#route(messages);
      await this.#backpressure();
    }
  }

  #route(messages: readonly Kafka.Message[]): void {
    let requests = 0;
    let commands = 0;
    for (const m of messages) {
      const runtime = this.#runtimes.get(m.partition);
      if (runtime === undefined || runtime.status !== 'active') continue;
      if (m.topic === this.#topics.requests) {
        if (m.offset < runtime.fetched.requests) continue;
        runtime.fetched.requests = m.offset + 1;
        runtime.requests.push(m);
        requests++;
      } else if (m.topic === this.#topics.commands) {
        if (m.offset < runtime.fetched.commands) continue;
        runtime.fetched.commands = m.offset + 1;
        runtime.commands.push(m);
        commands++;
      }
    }
    if (requests > 0) this.#deps.observer.consumed(this.#topics.requests, requests);
    if (commands > 0) this.#deps.observer.consumed(this.#topics.commands, commands);
    for (const runtime of this.#runtimes.values()) this.#pump(runtime);
  }

  /**
   * Backpressure: while the partitions' queues hold `maxQueued` messages, stop polling until
   * they drain to half. librdkafka then stops fetching once its own bounded queue is full.
   * Not pause()/resume(): toggled often under load, librdkafka sometimes left a partition
   * paused for good (measured here: 500 000-request runs stalled with lag left on some
   * partitions; librdkafka issue 5591 describes the same symptom).
   */
  async #backpressure(): Promise<void> {
    if (this.queuedMessages < this.#maxQueued) return;
    while (!this.#stopping && this.queuedMessages > this.#maxQueued / 2) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  // ── cycles ───────────────────────────────────────────────────────────────────────────────

  /**
   * Start what can start: a batch is verified while the previous one commits (optimistic: the
   * commit checks that nothing committed meanwhile touched what the batch read, and verifies it
   * again if it did). At most one decided batch waits for the commit chain.
   */
  #pump(runtime: PartitionRuntime): void {
    if (runtime.status !== 'active' || this.#stopping) return;
    if (runtime.deciding !== undefined || runtime.waiting > 0) return;
    if (runtime.commands.length > 0) {
      // Commands read pending state, written by commits: they are decided on the commit chain.
      const batch = runtime.commands.splice(0, 500);
      this.#enqueueCommit(runtime, () => this.#commandCommit(runtime, batch));
    } else if (runtime.requests.length > 0) {
      const batch = this.#takeRequests(runtime);
      const baseSeq = runtime.commitSeq;
      const at = new Date();
      runtime.deciding = this.#verify(batch, at)
        .then((results) =>
          this.#enqueueCommit(runtime, () => this.#requestCommit(runtime, batch, results, at, baseSeq)),
        )
        .catch((error: unknown) =>
          this.#deps.onFatal(error instanceof Error ? error : new Error(String(error))),
        )
        .finally(() => {
          runtime.deciding = undefined;
          this.#pump(runtime);
        });
    }
  }

  #enqueueCommit(runtime: PartitionRuntime, work: () => Promise<void>): void {
    runtime.waiting++;
    runtime.committing = runtime.committing
      .then(async () => {
        runtime.waiting--;
        this.#pump(runtime);
        await work();
      })
      .catch((error: unknown) =>
        this.#deps.onFatal(error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        this.#pump(runtime);
      });
  }

  /** Up to batchMaxMessages, and few enough bytes that the batch's journal record fits. */
  #takeRequests(runtime: PartitionRuntime): Kafka.Message[] {
    const max = this.#deps.config.pipeline.batchMaxMessages;
    let estimate = 0;
    let n = 0;
    while (n < runtime.requests.length && n < max) {
      // A DLQ entry copies the value (base64): budget for it.
      estimate +=
        ESTIMATED_OUTPUT_BYTES_PER_MESSAGE + Math.ceil((runtime.requests[n]!.value?.length ?? 0) * 1.4);
      if (n > 0 && estimate > MAX_JOURNAL_BYTES) break;
      n++;
    }
    return runtime.requests.splice(0, n);
  }

  async #requestCommit(
    runtime: PartitionRuntime,
    batch: readonly Kafka.Message[],
    verified: BatchResult[],
    at: Date,
    baseSeq: number,
  ): Promise<void> {
    if (runtime.status !== 'active') return;
    let results = verified;
    if (this.#conflicts(runtime, results, baseSeq)) {
      // A batch committed while this one was verified changed something it read: verify again,
      // now that the store holds it.
      results = await this.#verify(batch, at);
    }
    const effects = new BatchEffects(this.#deps.store, runtime.partition, at, this.#deadlines);
    for (let i = 0; i < batch.length; i++) {
      const result = results[i]!;
      const message = batch[i]!;
      if (result.kind === 'undecodable') effects.dlq(result.dlq, keyOf(message));
      else effects.verdict(result, requestSource(runtime.partition, message.offset));
    }
    const last = batch[batch.length - 1]!;
    await this.#commit(runtime, effects, { ...runtime.next, requests: last.offset + 1 }, batch);
  }

  #conflicts(runtime: PartitionRuntime, results: readonly BatchResult[], baseSeq: number): boolean {
    const writes = runtime.recentWrites.filter((w) => w.seq > baseSeq);
    if (writes.length === 0) return false;
    // Write sets are kept for the last few commits only; older overlap means "assume conflict".
    if (writes.length === runtime.recentWrites.length && runtime.recentWrites[0]!.seq > baseSeq + 1)
      return true;
    for (const result of results) {
      if (result.kind !== 'verdict') continue;
      const { requestId, body } = result.decision;
      for (const w of writes) {
        if (w.requestIds.has(requestId) || (body !== null && w.bodies.has(body))) return true;
      }
    }
    return false;
  }

  async #commandCommit(runtime: PartitionRuntime, batch: readonly Kafka.Message[]): Promise<void> {
    if (runtime.status !== 'active') return;
    const at = new Date();
    const effects = new BatchEffects(this.#deps.store, runtime.partition, at, this.#deadlines);
    const ctx = { view: lmdbIndexView(this.#deps.store), rules: this.#rules };
    for (const message of batch) {
      const parsed = parseCommand(message.value);
      if (!parsed.ok) {
        const source = {
          topic: this.#topics.commands,
          partition: message.partition,
          offset: message.offset,
          key: keyOf(message),
        };
        effects.dlq(dlqMessage(source, message.value, parsed.error, at.toISOString()), keyOf(message));
        continue;
      }
      applyCommand(parsed.command, effects, ctx);
    }
    const last = batch[batch.length - 1]!;
    await this.#commit(runtime, effects, { ...runtime.next, commands: last.offset + 1 }, []);
  }

  /** Verify a batch in the pool; a batch that crashes a worker is retried message by message. */
  async #verify(batch: readonly Kafka.Message[], at: Date): Promise<BatchResult[]> {
    const { pool } = this.#deps;
    const task = {
      now: at.getTime(),
      topic: this.#topics.requests,
      messages: batch.map((m) => [m.value, encodingOf(m), m.partition, m.offset, keyOf(m)] as const),
    };
    const started = performance.now();
    for (;;) {
      if (pool.needsDrain) await new Promise((resolve) => pool.once('drain', resolve));
      try {
        const results = await pool.verify(task);
        this.#deps.observer.batchVerified(batch.length, (performance.now() - started) / 1000);
        return results;
      } catch (error) {
        if (isImeiflowError(error, 'POOL_QUEUE_FULL')) continue;
        if (batch.length === 1) throw error;
        this.#deps.log.error(
          { err: error, size: batch.length },
          'a verify worker failed; retrying the batch message by message',
        );
        return this.#verifyOneByOne(batch, at);
      }
    }
  }

  async #verifyOneByOne(batch: readonly Kafka.Message[], at: Date): Promise<BatchResult[]> {
    const results: BatchResult[] = [];
    for (const message of batch) {
      try {
        const [result] = await this.#verify([message], at);
        results.push(result!);
      } catch (error) {
        const detail = `verification failed: ${messageOf(error)}`;
        const source = {
          topic: this.#topics.requests,
          partition: message.partition,
          offset: message.offset,
          key: keyOf(message),
        };
        results.push({
          kind: 'undecodable',
          error: detail,
          dlq: dlqMessage(source, message.value, detail, at.toISOString()),
        });
      }
    }
    return results;
  }

  /** Journal, apply, publish: the batch's exactly-once commit. */
  async #commit(
    runtime: PartitionRuntime,
    effects: BatchEffects,
    inputs: InputPositions,
    batch: readonly Kafka.Message[],
  ): Promise<void> {
    const outcome = effects.finish();
    // Revoked while deciding: the new owner will decide this batch again.
    if (runtime.status !== 'active') return;
    const record: JournalRecord = {
      seq: runtime.seq + 1,
      partition: runtime.partition,
      inputs,
      outputs: outcome.outputs,
      outcomes: outcome.outcomes,
      at: effects.at.toISOString(),
    };
    // At most JOURNAL_WINDOW records may be unpublished: recovery reads no further back.
    while (runtime.publishing.length >= JOURNAL_WINDOW) await runtime.publishing[0];
    if (runtime.status !== 'active') return;
    await this.#deps.producer.send([
      {
        topic: this.#topics.journal,
        partition: runtime.partition,
        key: journalKey(runtime.partition, record.seq),
        value: encodeJournal(record),
      },
    ]);
    runtime.seq = record.seq;
    runtime.next = inputs;
    this.#deps.observer.journalAppended(runtime.partition, record.seq);
    this.#deps.observer.outcomes(outcome.counts);
    // Publishing needs only the journaled record, so it starts beside the LMDB apply instead
    // of after it (half-load latency); the apply still ends this commit.
    const applied = this.#applyLocally(record, outcome.newlyPending);
    const publishing = this.#publishInOrder(
      runtime,
      record,
      record.outputs.map((_, idx) => idx),
      applied,
    ).then(() => {
      if (batch.length > 0) {
        const now = Date.now();
        this.#deps.observer.delivered(batch.map((m) => Math.max(0, now - (m.timestamp ?? now)) / 1000));
      }
      this.#commitHint(runtime);
    });
    runtime.publishing.push(publishing);
    publishing
      .catch((error: unknown) =>
        this.#deps.onFatal(error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        runtime.publishing.splice(runtime.publishing.indexOf(publishing), 1);
      });
    await applied;
    runtime.commitSeq++;
    runtime.recentWrites.push({
      seq: runtime.commitSeq,
      requestIds: new Set(outcome.outcomes.map(([requestId]) => requestId)),
      bodies: new Set(outcome.registryBodies),
    });
    if (runtime.recentWrites.length > RECENT_WRITES) runtime.recentWrites.shift();
    // The next batch may be decided now: its state reads see this one's. Publishing goes on
    // in the background, in order.
  }

  /** Publish after the partition's previous publish has queued all its messages. */
  #publishInOrder(
    runtime: PartitionRuntime,
    record: JournalRecord,
    indices: readonly number[],
    applied: Promise<void>,
  ): Promise<void> {
    let delivered!: Promise<void>;
    const enqueued = runtime.enqueued.then(async () => {
      const { delivered: done } = await this.#enqueuePublish(record, indices, applied);
      delivered = done;
    });
    runtime.enqueued = enqueued.catch(() => undefined);
    return enqueued.then(() => delivered);
  }

  /** Write a journal record's state to LMDB (idempotent: also used in recovery). */
  async #applyLocally(record: JournalRecord, newlyPending: readonly string[]): Promise<void> {
    const { store, commandBus } = this.#deps;
    let queued = false;
    await store.env.transaction(() => {
      for (const [role, key, value] of record.outputs) {
        if (CHANGELOG_ROLES.includes(role) && key !== null) applyOwnChangelogRecord(store, key, value);
      }
      for (const [requestId, outcome] of record.outcomes)
        store.outcomes.put(requestId, outcomeToStore(outcome));
      // A KGD decision may have landed while these requests were being decided. Whichever of the
      // two transactions commits second sees the other, so checking here closes the race.
      const commands: AddressedCommand[] = [];
      for (const body of newlyPending) {
        if (this.#settleable(body)) {
          commands.push({
            partition: record.partition,
            command: { type: 'reevaluate', body, issuedAt: record.at },
          });
        }
      }
      if (commands.length > 0) {
        commandBus.queueInTransaction(commands);
        queued = true;
      }
    });
    if (queued)
      void commandBus
        .flush()
        .catch((error: unknown) => this.#deps.log.error({ err: error }, 'sending commands failed'));
  }

  /** Whether the index now holds something that could settle a waiting request for `body`. */
  #settleable(body: string): boolean {
    const { store } = this.#deps;
    if (store.declarations.get(body)?.some((d) => d.status !== 'registered')) return true;
    if (store.localProduction.get(body) !== undefined) return true;
    for (const entry of store.pending.get(body) ?? []) {
      const id = entry.request.applicationId;
      if (id !== undefined && (store.applications.get(id)?.status ?? 'registered') !== 'registered')
        return true;
    }
    return false;
  }

  /** Queue a record's outputs (those at `indices`); the promise inside settles on delivery. */
  async #enqueuePublish(
    record: JournalRecord,
    indices: readonly number[],
    applied: Promise<void>,
  ): Promise<{ delivered: Promise<void> }> {
    if (indices.length === 0) return { delivered: Promise.resolve() };
    const messages: OutgoingMessage[] = indices.map((idx) => {
      const [role, key, value] = record.outputs[idx]!;
      return {
        topic: this.#roleTopics[role]!,
        partition: record.partition,
        key,
        value: asBuffer(value),
        headers: [{ [POSITION_HEADER]: `${record.seq}.${idx}` }],
      };
    });
    const { delivered } = await this.#deps.producer.enqueue(messages);
    return {
      delivered: delivered.then(async (offsets) => {
        // A restore may start after our own changelog writes only once LMDB holds them.
        await applied;
        for (const role of CHANGELOG_ROLES) {
          const topic = this.#roleTopics[role]!;
          const end = offsets.get(topic);
          // Our own changelog writes are already in LMDB: a later restore can start after them.
          if (end !== undefined)
            void this.#deps.store.meta.put(restoredKey(topic, record.partition), end + 1);
        }
      }),
    };
  }

  #commitHint(runtime: PartitionRuntime): void {
    const now = Date.now();
    if (now - runtime.lastHint < COMMIT_HINT_INTERVAL_MS || this.#consumer === undefined) return;
    runtime.lastHint = now;
    try {
      // Not the source of truth (the journal is): lets lag tooling see progress.
      this.#consumer.commit([
        { topic: this.#topics.requests, partition: runtime.partition, offset: runtime.next.requests },
        { topic: this.#topics.commands, partition: runtime.partition, offset: runtime.next.commands },
      ]);
    } catch (error) {
      this.#deps.log.debug({ err: error }, 'offset commit hint failed');
    }
  }

  // ── partition ownership ──────────────────────────────────────────────────────────────────

  #onRebalance(err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]): void {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      const generation = ++this.#generation;
      const partitions = [...new Set(assignment.map((a) => a.partition))].sort((a, b) => a - b);
      this.#deps.log.info({ partitions }, 'partitions assigned; recovering');
      for (const partition of partitions) {
        this.#runtimes.set(partition, {
          partition,
          status: 'recovering',
          requests: [],
          commands: [],
          next: { requests: 0, commands: 0 },
          fetched: { requests: 0, commands: 0 },
          seq: 0,
          deciding: undefined,
          committing: Promise.resolve(),
          waiting: 0,
          commitSeq: 0,
          recentWrites: [],
          publishing: [],
          enqueued: Promise.resolve(),
          lastHint: 0,
        });
      }
      this.#recovering = this.#unassigning
        .then(async () => {
          for (const partition of partitions) {
            if (generation !== this.#generation) return;
            await this.#recover(this.#runtimes.get(partition)!);
          }
          if (generation !== this.#generation) return;
          consumer.assign(
            assignment.map((a) => {
              const runtime = this.#runtimes.get(a.partition)!;
              const offset =
                a.topic === this.#topics.requests ? runtime.next.requests : runtime.next.commands;
              return { topic: a.topic, partition: a.partition, offset };
            }),
          );
          this.#assignedOnce = true;
          for (const partition of partitions) {
            const runtime = this.#runtimes.get(partition)!;
            runtime.fetched = { ...runtime.next };
            runtime.status = 'active';
          }
          this.#deps.log.info({ partitions }, 'partitions recovered; consuming');
        })
        .catch((error: unknown) =>
          this.#deps.onFatal(error instanceof Error ? error : new Error(String(error))),
        );
    } else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      this.#generation++;
      const runtimes = [...this.#runtimes.values()];
      for (const runtime of runtimes) runtime.status = 'revoked';
      this.#deps.log.info(
        { partitions: runtimes.map((r) => r.partition) },
        'partitions revoked; finishing in-flight batches',
      );
      const recovering = this.#recovering;
      // Until every in-flight cycle has finished publishing, the next owner must not start:
      // unassign only then (librdkafka holds the rebalance until we do).
      this.#unassigning = this.#settled(recovering, runtimes).then(() => {
        for (const runtime of runtimes) {
          if (this.#runtimes.get(runtime.partition) === runtime) this.#runtimes.delete(runtime.partition);
        }
        try {
          consumer.unassign();
        } catch (error) {
          this.#deps.log.warn({ err: error }, 'unassign failed');
        }
      });
    } else {
      this.#deps.log.error({ err: err }, 'rebalance error');
    }
  }

  /** Make partition N consistent: finish the last journaled batch, restore state, find positions. */
  async #recover(runtime: PartitionRuntime): Promise<void> {
    const { reader, store, log } = this.#deps;
    const { partition } = runtime;
    // Where this instance's copy of the partition's state stands, read before anything below
    // publishes changelog records (publishing moves these positions past records not yet read).
    store.env.resetReadTxn();
    const restoredFrom = CHANGELOG_ROLES.map(
      (role) => store.meta.get(restoredKey(this.#roleTopics[role]!, partition)) ?? 0,
    );
    const records = (await reader.lastMessages(this.#topics.journal, partition, JOURNAL_WINDOW))
      .filter((m) => m.value !== null)
      .map((m) => decodeJournal(m.value!))
      .sort((a, b) => a.seq - b.seq);
    const newest = records[records.length - 1];
    if (newest !== undefined) {
      for (const record of records) await this.#applyLocally(record, []);
      // Where each output partition stands: outputs after its last (seq, idx) are missing.
      const tails: [number, number][] = [];
      for (let role = 0 as RoleCode; role < OUTPUT_ROLES.length; role = (role + 1) as RoleCode) {
        const tail = await reader.lastMessage(this.#roleTopics[role]!, partition);
        const [seq = -1, idx = -1] = (tail === undefined ? undefined : headerValue(tail, POSITION_HEADER))
          ?.split('.')
          .map(Number) ?? [-1, -1];
        tails.push([seq, idx]);
      }
      for (const record of records) {
        const missing = tails
          .flatMap(([seq, idx], role) => missingOutputs(record, role as RoleCode, seq, idx))
          .sort((a, b) => a - b);
        if (missing.length === 0) continue;
        log.info(
          { partition, seq: record.seq, outputs: missing.length },
          'publishing outputs the previous owner did not',
        );
        await this.#publishInOrder(runtime, record, missing, Promise.resolve());
      }
      runtime.seq = newest.seq;
      runtime.next = newest.inputs;
    } else {
      runtime.next = await this.#committedPositions(partition);
    }
    await this.#checkRetention(runtime);
    // Restore the partition's state written by whoever owned it since we last saw it.
    let applied = 0;
    for (const [i, role] of CHANGELOG_ROLES.entries()) {
      const topic = this.#roleTopics[role]!;
      const end = await reader.readToEnd(topic, partition, restoredFrom[i]!, async (batch) => {
        await store.env.transaction(() => {
          for (const m of batch) {
            const key = keyOf(m);
            if (key !== null) applyChangelogRecord(store, key, m.value);
          }
        });
        applied += batch.length;
      });
      await store.meta.put(restoredKey(topic, partition), end);
    }
    log.info(
      { partition, seq: runtime.seq, next: runtime.next, changelogRecords: applied },
      'partition recovered',
    );
  }

  /**
   * Messages the broker deleted before anyone read them are lost input: say so loudly (the
   * embedded cluster keeps ~5 MB per partition; a real cluster's retention can expire too).
   */
  async #checkRetention(runtime: PartitionRuntime): Promise<void> {
    for (const input of ['requests', 'commands'] as const) {
      const topic = this.#topics[input];
      const { low } = await this.#deps.reader.bounds(topic, runtime.partition);
      const next = runtime.next[input];
      if (next < low) {
        this.#deps.log.error(
          { topic, partition: runtime.partition, next, firstKept: low, lost: low - next },
          'input was deleted by the broker before it was read: these messages cannot be answered',
        );
        this.#deps.observer.inputLost(topic, low - next);
        runtime.next = { ...runtime.next, [input]: low };
      }
    }
  }

  /** Where to start when the journal has nothing for a partition: the group's offsets, else the start. */
  async #committedPositions(partition: number): Promise<InputPositions> {
    const consumer = this.#consumer!;
    const committed = await new Promise<Kafka.TopicPartitionOffset[]>((resolve) =>
      consumer.committed(
        [
          { topic: this.#topics.requests, partition },
          { topic: this.#topics.commands, partition },
        ],
        10_000,
        (err, tps) => resolve(err ? [] : tps),
      ),
    );
    const offsetOf = (topic: string): number => {
      const offset = committed.find((t) => t.topic === topic)?.offset;
      return typeof offset === 'number' && offset >= 0 ? offset : 0;
    };
    return { requests: offsetOf(this.#topics.requests), commands: offsetOf(this.#topics.commands) };
  }

  /** Resolves when recovery and every cycle and publish of these partitions have finished. */
  async #settled(recovering: Promise<void>, runtimes: readonly PartitionRuntime[]): Promise<void> {
    await recovering.catch(() => undefined);
    // Each round may start the next step of a batch (decided → committed → published): wait
    // until no partition has anything left in flight.
    for (;;) {
      await Promise.allSettled(runtimes.flatMap((r) => [r.deciding, r.committing, ...r.publishing]));
      if (runtimes.every((r) => r.deciding === undefined && r.waiting === 0 && r.publishing.length === 0))
        return;
    }
  }

  // ── shutdown ─────────────────────────────────────────────────────────────────────────────

  /** Stop fetching, let in-flight cycles finish (up to the deadline), leave the group. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#loop;
    const finished = this.#settled(this.#recovering, [...this.#runtimes.values()]);
    const timedOut = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), deadlineMs).unref()),
    ]);
    if (timedOut) {
      throw new ImeiflowError('SHUTDOWN_TIMEOUT', `in-flight batches did not finish within ${deadlineMs} ms`);
    }
    for (const runtime of this.#runtimes.values()) runtime.status = 'revoked';
    if (this.#consumer !== undefined) await disconnect(this.#consumer);
  }
}
