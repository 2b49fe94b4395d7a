/**
 * One imeiflow instance's request pipeline without a broker, for unit tests of the commit
 * protocol and recovery and for the simulation: the real TaskManager (PartitionTask,
 * RecordCollector, recoverPartition) over an in-memory Kafka (memory-kafka.ts), with batches
 * decided in-process by the real runBatch on a real LMDB store. The fetch loop is `route()`: each
 * running task gets what its inputs hold from where it last read. `crash()` kills the instance:
 * its producer delivers nothing more and its runner starts no batch; its tasks are dropped where
 * they stand.
 */

import type { ResultTopics } from '../../src/kafka/result-topics.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { type InputPositions, NO_POSITIONS } from '../../src/pipeline/journal.js';
import type { BatchRunner, PartitionTask, TaskStart } from '../../src/pipeline/partition-task.js';
import { RecordCollector } from '../../src/pipeline/record-collector.js';
import { type RecoveryTopics, recoverPartition } from '../../src/pipeline/recovery.js';
import { TaskManager } from '../../src/pipeline/task-manager.js';
import { OUTPUT_ROLES, type OutputRole } from '../../src/pool/batch-contract.js';
import { type BatchContext, batchContextOf, runBatch } from '../../src/pool/partition-batch.js';
import type { Store } from '../../src/store/store.js';
import { TEST_WORKER_SETTINGS } from './batches.js';
import type { MemoryKafka, MemoryProducer } from './memory-kafka.js';
import { TEST_TOPICS } from './topics.js';

export const TOPICS: RecoveryTopics & Record<OutputRole, string> = TEST_TOPICS;

const INPUTS = ['commands', 'requests', 'repartition'] as const;

/** Decides batches in this thread, as a verify worker would; can stop starting them. */
export class InProcessRunner implements BatchRunner {
  readonly #context: BatchContext;
  #allowed = Number.POSITIVE_INFINITY;
  started = 0;
  inFlight = 0;

  constructor(store: Store) {
    this.#context = batchContextOf(store, TEST_WORKER_SETTINGS(store.path));
  }

  get context(): BatchContext {
    return this.#context;
  }

  /** Run `n` more batches; every later one waits for good (the instance is about to die). */
  allow(n: number): void {
    this.#allowed = n;
  }

  async run(task: Uint8Array): Promise<Uint8Array> {
    if (this.#allowed <= 0) return new Promise<never>(() => undefined);
    this.#allowed--;
    this.started++;
    this.inFlight++;
    try {
      return await runBatch(this.#context, task);
    } finally {
      this.inFlight--;
    }
  }
}

const silentObserver = {
  batchDecided: () => undefined,
  outcomes: () => undefined,
  journalAppended: () => undefined,
  delivered: () => undefined,
};

/**
 * One instance over the in-memory Kafka: the real TaskManager (ownership, recovery, tasks) with a
 * fetch loop of its own (`route`), as the request pipeline's is over node-rdkafka.
 */
export class PipelineInstance {
  readonly store: Store;
  readonly producer: MemoryProducer;
  readonly runner: InProcessRunner;
  readonly collector: RecordCollector;
  readonly manager: TaskManager;
  /** The fetch loop's cursors: the next offset to read per partition and input. */
  readonly cursors = new Map<number, InputPositions>();
  readonly fatal: Error[] = [];
  readonly inputLost: [topic: string, count: number][] = [];
  /** Records recovery passed as not imeiflow's: `<topic>[<partition>]@<offset>: <error>`. */
  readonly skipped: string[] = [];
  /** The service's metrics, for what the manager counts of the records it passes. */
  readonly metrics = new Metrics({ defaultMetrics: false });
  readonly #kafka: MemoryKafka;
  readonly #partitions: number;
  readonly #localStateMaxAgeMs: number;
  /** The instance's clock (tests move it to age a local copy). */
  now = Date.now();
  #dead = false;

  /** `exitOnFatal: false`: a fatal error is only recorded, as if the process took its time to exit. */
  constructor(
    kafka: MemoryKafka,
    store: Store,
    partitions: number,
    options: { exitOnFatal?: boolean; localStateMaxAgeMs?: number; results?: ResultTopics } = {},
  ) {
    this.#localStateMaxAgeMs = options.localStateMaxAgeMs ?? 12 * 3_600_000;
    this.#kafka = kafka;
    this.store = store;
    this.#partitions = partitions;
    this.producer = kafka.producer();
    this.runner = new InProcessRunner(store);
    // Every result on the shared topic unless the test routes operators to their own.
    this.collector = new RecordCollector(
      this.producer,
      OUTPUT_ROLES.map((role) => TOPICS[role]),
      options.results,
    );
    const exitOnFatal = options.exitOnFatal ?? true;
    this.manager = new TaskManager({
      store,
      log: kafka,
      sink: this.producer,
      collector: this.collector,
      runner: this.runner,
      observer: {
        ...silentObserver,
        inputLost: (topic, count) => this.inputLost.push([topic, count]),
        recordSkipped: (message) => this.metrics.recordSkipped(message),
      },
      logger: createLogger('silent'),
      topics: TOPICS,
      partitions,
      batchMaxMessages: 100,
      localStateMaxAgeMs: this.#localStateMaxAgeMs,
      committed: async () => NO_POSITIONS,
      // The service exits on a fatal error: so does this instance.
      onFatal: (error) => {
        this.fatal.push(error);
        if (exitOnFatal) this.crash();
      },
      now: () => this.now,
    });
  }

  /**
   * Recover `partition` without taking it, to look at what recovery did (the manager's `assign`
   * recovers again, which changes nothing a second time).
   */
  recover(partition: number): Promise<TaskStart> {
    return recoverPartition(
      {
        store: this.store,
        log: this.#kafka,
        sink: this.producer,
        collector: this.collector,
        topics: TOPICS,
        logger: createLogger('silent'),
        committed: async () => NO_POSITIONS,
        inputLost: (topic, count) => this.inputLost.push([topic, count]),
        skipped: (m, error) => this.skipped.push(`${m.topic}[${m.partition}]@${m.offset}: ${error}`),
        partitions: this.#partitions,
        localStateMaxAgeMs: this.#localStateMaxAgeMs,
        now: () => this.now,
      },
      partition,
    );
  }

  /** Take `partitions` (recovered, then running), and fetch from where each starts. */
  async recoverAndStart(partitions: readonly number[]): Promise<void> {
    const starts = await this.manager.assign(partitions);
    for (const [partition, start] of starts ?? []) this.cursors.set(partition, start.positions);
  }

  /** Give up every partition gracefully (a rebalance): fenced, drained, forgotten. */
  async revoke(): Promise<void> {
    await this.manager.revoke();
    this.cursors.clear();
  }

  task(partition: number): PartitionTask {
    const task = this.manager.task(partition);
    if (task === undefined) throw new Error(`partition ${partition} is not owned here`);
    return task;
  }

  /** The fetch loop: hand each running task what its inputs hold past its cursors. Returns how many were taken. */
  route(): number {
    if (this.#dead) return 0;
    let taken = 0;
    for (const [partition, cursors] of this.cursors) {
      const task = this.manager.task(partition);
      if (task === undefined || task.state !== 'running') continue;
      let next = cursors;
      for (const input of INPUTS) {
        for (const m of this.#kafka.messages(TOPICS[input], partition)) {
          if (m.offset < next[input]) continue;
          if (this.manager.route(input, m)) taken++;
          next = { ...next, [input]: m.offset + 1 };
        }
      }
      this.cursors.set(partition, next);
    }
    this.manager.pump();
    return taken;
  }

  /** Dies where it stands: nothing more delivered, no batch started, nothing more fetched. */
  crash(): void {
    this.#dead = true;
    this.producer.crash();
    this.runner.allow(0);
    this.cursors.clear();
  }

  /** Crashed (or exited on a fatal error): nothing it does reaches Kafka any more. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Busy: a batch being decided or messages waiting to be delivered. */
  get busy(): boolean {
    return !this.#dead && (this.runner.inFlight > 0 || this.producer.queued > 0);
  }
}

/**
 * Route and wait until nothing moves any more: no batch running, nothing queued for delivery,
 * and the log, the batches started and the messages routed unchanged over several polls.
 */
export async function settle(kafka: MemoryKafka, instances: readonly PipelineInstance[]): Promise<void> {
  let mark = '';
  let still = 0;
  for (let poll = 0; poll < 5000; poll++) {
    let routed = 0;
    for (const i of instances) routed += i.route();
    await new Promise((resolve) => setTimeout(resolve, 2));
    const busy = instances.some((i) => i.busy);
    const now = `${kafka.version}/${instances.map((i) => `${i.runner.started}.${i.producer.delivered}`).join()}`;
    still = !busy && routed === 0 && now === mark ? still + 1 : 0;
    mark = now;
    if (still >= 3) return;
  }
  throw new Error('the pipeline did not settle');
}
