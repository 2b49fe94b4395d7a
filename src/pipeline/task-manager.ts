/**
 * Which partitions of the device topics this instance owns, and what owning one takes (Kafka
 * Streams' TaskManager): a task per assigned partition, recovered before it runs (recovery.ts);
 * on a revoke, fenced at once — no batch journaled, no output enqueued after it — then drained of
 * what it already handed to the producer; routed the messages the fetch loop reads.
 *
 * It knows nothing of consumers or brokers: the request pipeline (request-pipeline.ts) drives it
 * from node-rdkafka's rebalance callbacks and fetch loop, the simulation (sim/) from its seeded
 * scheduler over an in-memory Kafka. Both run this very code.
 */
import { devicePartition } from '../domain/device-partition.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { committed } from '../store/store-full.js';
import type { InputPositions } from './journal.js';
import type { LogMessage, OutputSink, PartitionLog } from './kafka-port.js';
import type { RecordPosition } from './observer.js';
import {
  type BatchRunner,
  PartitionTask,
  type TaskDeps,
  type TaskObserver,
  type TaskStart,
} from './partition-task.js';
import type { RecordCollector } from './record-collector.js';
import { type RecoveryTopics, recordCheckpoint, recoverPartition } from './recovery.js';

export type InputName = 'requests' | 'repartition' | 'commands';

export interface TaskManagerDeps {
  readonly store: Store;
  /** Reads partitions directly: recovery's journal, tails and changelogs. */
  readonly log: PartitionLog;
  readonly sink: OutputSink;
  readonly collector: RecordCollector;
  readonly runner: BatchRunner;
  readonly observer: TaskObserver & {
    inputLost(topic: string, count: number): void;
    recordSkipped(message: RecordPosition): void;
  };
  readonly logger: Logger;
  readonly topics: RecoveryTopics;
  /** Partitions of the device topics. */
  readonly partitions: number;
  readonly batchMaxMessages: number;
  /** How long a local copy of a partition's state may be trusted to catch up (recovery.ts). */
  readonly localStateMaxAgeMs: number;
  /** The group's committed positions, when the journal has nothing for a partition. */
  readonly committed: (partition: number) => Promise<InputPositions>;
  /** The manager cannot go on safely: the process should exit and restart. */
  readonly onFatal: (error: Error) => void;
  /** The clock (the simulation's is virtual). */
  readonly now?: () => number;
  /** Why a command may not be carried out (src/pipeline/partition-task.ts TaskDeps). */
  readonly commandRefusal?: TaskDeps['commandRefusal'];
}

export class TaskManager {
  readonly #deps: TaskManagerDeps;
  readonly #tasks = new Map<number, PartitionTask>();
  /** Bumped by every assignment and revocation: an assignment superseded while it recovers stops. */
  #generation = 0;
  #assignedOnce = false;

  constructor(deps: TaskManagerDeps) {
    this.#deps = deps;
  }

  /** Partitions this instance owns and runs. */
  get activePartitions(): number[] {
    return [...this.#tasks.values()].filter((t) => t.state === 'running').map((t) => t.partition);
  }

  /** Through its first assignment, and no partition still recovering. */
  get ready(): boolean {
    return this.#assignedOnce && [...this.#tasks.values()].every((t) => t.state !== 'restoring');
  }

  get queuedMessages(): number {
    let n = 0;
    for (const t of this.#tasks.values()) n += t.queued;
    return n;
  }

  /** The task of `partition`, if this instance holds it. */
  task(partition: number): PartitionTask | undefined {
    return this.#tasks.get(partition);
  }

  get tasks(): readonly PartitionTask[] {
    return [...this.#tasks.values()];
  }

  /**
   * Take `partitions`: recover each (in order), then start them. Resolves with where each starts
   * (for the consumer's positions), or undefined when a later assignment or revocation
   * superseded this one meanwhile (its tasks never start).
   */
  async assign(partitions: readonly number[]): Promise<Map<number, TaskStart> | undefined> {
    const generation = ++this.#generation;
    const tasks = partitions.map((partition) => {
      const task = this.#newTask(partition);
      this.#tasks.set(partition, task);
      return task;
    });
    const starts = new Map<number, TaskStart>();
    for (const task of tasks) {
      if (generation !== this.#generation) return undefined;
      starts.set(task.partition, await recoverPartition(this.#recoveryDeps(), task.partition));
    }
    if (generation !== this.#generation) return undefined;
    this.#assignedOnce = true;
    for (const task of tasks) task.start(starts.get(task.partition)!);
    return starts;
  }

  /**
   * Give up every partition. Each task is fenced at once (no journal append, no new output after
   * this call), then waits until what it already handed to the producer is delivered; its
   * journaled batches left unpublished are published by the next owner's recovery. Fencing first
   * matters when the assignment was lost rather than revoked: the next owner may be recovering
   * already (issue 20).
   */
  async revoke(): Promise<void> {
    this.#generation++;
    const tasks = [...this.#tasks.values()];
    for (const task of tasks) task.fence();
    await Promise.all(tasks.map((t) => t.drain()));
    for (const task of tasks)
      if (this.#tasks.get(task.partition) === task) this.#tasks.delete(task.partition);
  }

  /** Route a fetched message to its partition's task. Returns false when it was not taken. */
  route(input: InputName, message: LogMessage): boolean {
    return this.#tasks.get(message.partition)?.push(input, message) ?? false;
  }

  /** Nudge every task after routing. */
  pump(): void {
    for (const task of this.#tasks.values()) task.pump();
  }

  /** The index changed: the owners of these devices and of requests naming these applications re-evaluate. */
  indexChanged(bodies: readonly string[], applications: readonly string[]): void {
    if (bodies.length === 0 && applications.length === 0) return;
    const byPartition = new Map<number, string[]>();
    for (const body of bodies) {
      const p = devicePartition(body, this.#deps.partitions);
      if (!this.#tasks.has(p)) continue;
      const list = byPartition.get(p);
      if (list === undefined) byPartition.set(p, [body]);
      else list.push(body);
    }
    for (const task of this.#tasks.values())
      task.markDirty(byPartition.get(task.partition) ?? [], applications);
  }

  /** Positions after the last journaled batch of each running task (the group's offsets, as a hint). */
  positions(): { partition: number; positions: InputPositions }[] {
    return [...this.#tasks.values()]
      .filter((t) => t.state === 'running')
      .map((t) => ({ partition: t.partition, positions: t.positions }));
  }

  #newTask(partition: number): PartitionTask {
    const { store, sink, collector, runner, observer, onFatal, topics, batchMaxMessages } = this.#deps;
    const now = this.#deps.now ?? Date.now;
    return new PartitionTask(
      { partition, partitions: this.#deps.partitions, batchMaxMessages, journalTopic: topics.journal },
      {
        runner,
        sink,
        collector,
        observer,
        checkpoint: (topic, next) => {
          const written = recordCheckpoint(store, partition, topic, next, now());
          // A checkpoint that cannot be stored (a full disk) stops the process: a restart
          // restores from the last one stored, which only means reading more.
          if (written !== undefined)
            committed(written).catch((error: unknown) =>
              onFatal(error instanceof Error ? error : new Error(String(error))),
            );
        },
        onFatal,
        ...(this.#deps.commandRefusal === undefined ? {} : { commandRefusal: this.#deps.commandRefusal }),
      },
    );
  }

  #recoveryDeps() {
    const { store, log, sink, collector, topics, logger, observer, partitions } = this.#deps;
    return {
      store,
      log,
      sink,
      collector,
      topics,
      logger,
      committed: this.#deps.committed,
      inputLost: (topic: string, count: number) => observer.inputLost(topic, count),
      skipped: (message: LogMessage, error: string) => {
        observer.recordSkipped(message);
        logger.warn(
          { topic: message.topic, partition: message.partition, offset: message.offset, error },
          'a record imeiflow does not write, passed while restoring',
        );
      },
      partitions,
      localStateMaxAgeMs: this.#deps.localStateMaxAgeMs,
      ...(this.#deps.now === undefined ? {} : { now: this.#deps.now }),
    };
  }
}
