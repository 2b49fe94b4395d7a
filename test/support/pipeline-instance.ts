/**
 * One imeiflow instance's request pipeline without a broker, for unit tests of the commit
 * protocol and recovery: the real PartitionTask, RecordCollector and recoverPartition over an
 * in-memory Kafka (memory-kafka.ts), with batches decided in-process by the real runBatch on a
 * real LMDB store. The fetch loop is `route()`: each running task gets what its inputs hold from
 * where it last read. `crash()` kills the instance: its producer delivers nothing more and its
 * runner starts no batch; its tasks are dropped where they stand.
 */
import { createLogger } from '../../src/log.js';
import { type InputPositions, NO_POSITIONS } from '../../src/pipeline/journal.js';
import {
  type BatchRunner,
  PartitionTask,
  type TaskObserver,
  type TaskStart,
} from '../../src/pipeline/partition-task.js';
import { RecordCollector } from '../../src/pipeline/record-collector.js';
import { type RecoveryTopics, recordCheckpoint, recoverPartition } from '../../src/pipeline/recovery.js';
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

const silentObserver: TaskObserver = {
  batchDecided: () => undefined,
  outcomes: () => undefined,
  journalAppended: () => undefined,
  delivered: () => undefined,
};

interface Owned {
  readonly task: PartitionTask;
  /** Next offset to hand over per input (the consumer's fetch position). */
  cursors: InputPositions;
}

export class PipelineInstance {
  readonly store: Store;
  readonly producer: MemoryProducer;
  readonly runner: InProcessRunner;
  readonly collector: RecordCollector;
  readonly tasks = new Map<number, Owned>();
  readonly fatal: Error[] = [];
  readonly inputLost: [topic: string, count: number][] = [];
  /** Records recovery passed as not imeiflow's: `<topic>[<partition>]@<offset>: <error>`. */
  readonly skipped: string[] = [];
  readonly #kafka: MemoryKafka;
  readonly #partitions: number;
  readonly #exitOnFatal: boolean;
  readonly #localStateMaxAgeMs: number;
  /** The instance's clock (tests move it to age a local copy). */
  now = Date.now();
  #dead = false;

  #now(): number {
    return this.now;
  }

  /** `exitOnFatal: false`: a fatal error is only recorded, as if the process took its time to exit. */
  constructor(
    kafka: MemoryKafka,
    store: Store,
    partitions: number,
    options: { exitOnFatal?: boolean; localStateMaxAgeMs?: number } = {},
  ) {
    this.#localStateMaxAgeMs = options.localStateMaxAgeMs ?? 12 * 3_600_000;
    this.#kafka = kafka;
    this.store = store;
    this.#partitions = partitions;
    this.#exitOnFatal = options.exitOnFatal ?? true;
    this.producer = kafka.producer();
    this.runner = new InProcessRunner(store);
    this.collector = new RecordCollector(
      this.producer,
      OUTPUT_ROLES.map((role) => TOPICS[role]),
    );
  }

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
        now: () => this.#now(),
      },
      partition,
    );
  }

  /** Own `partition` from `from` on (as request-pipeline.ts does after recovery). */
  start(partition: number, from: TaskStart): PartitionTask {
    const { store } = this;
    const task = new PartitionTask(
      {
        partition,
        partitions: this.#partitions,
        batchMaxMessages: 100,
        journalTopic: TOPICS.journal,
      },
      {
        runner: this.runner,
        sink: this.producer,
        collector: this.collector,
        observer: silentObserver,
        checkpoint: (topic, next) => void recordCheckpoint(store, partition, topic, next, this.#now()),
        // The service exits on a fatal error: so does this instance.
        onFatal: (error) => {
          this.fatal.push(error);
          if (this.#exitOnFatal) this.crash();
        },
      },
    );
    this.tasks.set(partition, { task, cursors: from.positions });
    task.start(from);
    return task;
  }

  async recoverAndStart(partitions: readonly number[]): Promise<void> {
    for (const p of partitions) this.start(p, await this.recover(p));
  }

  task(partition: number): PartitionTask {
    const owned = this.tasks.get(partition);
    if (owned === undefined) throw new Error(`partition ${partition} is not owned here`);
    return owned.task;
  }

  /** The fetch loop: hand each running task what its inputs hold past its cursors. Returns how many were taken. */
  route(): number {
    if (this.#dead) return 0;
    let taken = 0;
    for (const owned of this.tasks.values()) {
      if (owned.task.state !== 'running') continue;
      for (const input of INPUTS) {
        const from = owned.cursors[input];
        const messages = this.#kafka.messages(TOPICS[input], owned.task.partition);
        for (const m of messages) {
          if (m.offset < from) continue;
          if (owned.task.push(input, m)) taken++;
          owned.cursors = { ...owned.cursors, [input]: m.offset + 1 };
        }
      }
      owned.task.pump();
    }
    return taken;
  }

  /** Dies where it stands: nothing more delivered, no batch started, its tasks forgotten. */
  crash(): void {
    this.#dead = true;
    this.producer.crash();
    this.runner.allow(0);
    this.tasks.clear();
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
