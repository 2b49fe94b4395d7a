/**
 * One partition of the device topics, on the instance that owns it: its input queue and its
 * cycle, as a state machine.
 *
 *   restoring ──(recovered)──► running ──(revoked / lost / stopping: fenced)──► draining ──► closed
 *       │                          └──(a cycle or a publish failed)──► failed ──► closed
 *       └──(revoked before it ran)──► draining
 *
 * The legal transitions are the table TRANSITIONS, checked on every change. Draining is fenced:
 * no batch is journaled and no output handed to the producer after it begins, so a task whose
 * assignment was lost stops writing at once (issue 20); what it journaled and did not publish,
 * the next owner's recovery publishes.
 *
 * A cycle: take a batch (commands first, then requests and forwarded requests in arrival order)
 * → a worker stores the previous batch's state and decides this one → append the journal record
 * (the commit) → publish its outputs in the background, in order → next cycle. The next batch is
 * decided only once this one is journaled, because the worker deciding it first stores this
 * one's state. A batch is journaled only once every batch more than JOURNAL_WINDOW − 1 before it
 * is delivered: recovery reads the last JOURNAL_WINDOW records and no further back.
 */
import {
  decodeResult,
  encodeTask,
  INPUT_COMMAND,
  INPUT_FORWARDED,
  INPUT_REQUEST,
  type InputRefusal,
  type OutcomeCounts,
  ROLE_CONFIRMATIONS,
  ROLE_PENDING_CHANGELOG,
  ROLE_REVOCATIONS,
} from '../pool/batch-contract.js';
import { BatchOutputs } from '../pool/outputs-section.js';
import { StateMachine } from '../runtime/state-machine.js';
import { encodeJournal, type InputPositions, JOURNAL_WINDOW, journalKey } from './journal.js';
import type { DeliveredOffsets, LogMessage, OutputSink } from './kafka-port.js';
import { NO_PLACE, ORIGIN_HEADER, placeOf } from './positions.js';
import type { RecordCollector } from './record-collector.js';
import { inputOf, type Queued } from './task-inputs.js';

export type TaskState = 'restoring' | 'running' | 'draining' | 'closed' | 'failed';

/** Each state with the states it may move to (Kafka Streams' Task.State). */
export const TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  restoring: ['running', 'draining', 'failed'],
  running: ['draining', 'failed'],
  draining: ['closed', 'failed'],
  failed: ['closed'],
  closed: [],
};

/** Runs a partition batch in a worker (src/pool/verify-pool.ts, or in-process in tests). */
export interface BatchRunner {
  run(task: Uint8Array): Promise<Uint8Array>;
}

/** What a task reports as it works (the metrics implement it; per batch, never per message). */
export interface TaskObserver {
  batchDecided(size: number, seconds: number): void;
  outcomes(counts: OutcomeCounts): void;
  /** `seconds`: from the batch decided to its record acknowledged (the window's wait included). */
  journalAppended(partition: number, seq: number, seconds: number): void;
  /** End-to-end latency of a batch's inputs, from their Kafka timestamps to delivery. */
  delivered(inputTimestamps: readonly number[], now: number): void;
}

export interface TaskSettings {
  readonly partition: number;
  /** Partitions of the device topics. */
  readonly partitions: number;
  readonly batchMaxMessages: number;
  readonly journalTopic: string;
}

export interface TaskDeps {
  readonly runner: BatchRunner;
  readonly sink: OutputSink;
  readonly collector: RecordCollector;
  readonly observer: TaskObserver;
  /** Where own changelog writes are stored up to: a later restore may start after them. */
  readonly checkpoint: (topic: string, nextOffset: number) => void;
  /** The task cannot go on safely: the process should exit and restart. */
  readonly onFatal: (error: Error) => void;
  /**
   * Why a command may not be carried out (it lacks the cluster key's signature), or null; absent:
   * commands are not checked (the in-memory pipeline of the tests and the simulation has no key).
   */
  readonly commandRefusal?: (message: LogMessage) => InputRefusal | null;
}

/** Where a partition stands when it starts running (from recovery). */
export interface TaskStart {
  readonly seq: number;
  readonly positions: InputPositions;
  readonly forwarded: readonly number[];
}

const CHANGELOG_ROLES = [ROLE_PENDING_CHANGELOG, ROLE_CONFIRMATIONS, ROLE_REVOCATIONS] as const;
/** A journal record stays well below the 8 MB journal message limit. */
const MAX_TASK_BYTES = 2 * 1024 * 1024;

export class PartitionTask {
  readonly partition: number;
  readonly #settings: TaskSettings;
  readonly #deps: TaskDeps;
  readonly #machine: StateMachine<TaskState>;
  /** Started running once: it may have journaled batches whose state it must store on draining. */
  #started = false;
  #seq = 0;
  /** Positions after the last journaled batch. */
  #positions: InputPositions = { requests: 0, repartition: 0, commands: 0 };
  /** Next offsets expected from the fetcher per input; older ones are re-fetches, dropped. */
  #fetched: InputPositions = { requests: 0, repartition: 0, commands: 0 };
  /** Per source partition: the last forwarded request journaled, and the last queued. */
  #forwarded: number[] = [];
  #forwardedQueued: number[] = [];
  readonly #commands: Queued[] = [];
  readonly #requests: Queued[] = [];
  #dirtyBodies = new Set<string>();
  #dirtyApplications = new Set<string>();
  #sweep = false;
  /** The last journaled batch's outputs section, whose state the next batch's worker stores. */
  #unapplied: { seq: number; outputs: Uint8Array } | undefined;
  #cycle: Promise<void> | undefined;
  /** Deliveries of journaled batches still being published, by seq. */
  readonly #publishing = new Map<number, Promise<unknown>>();
  /** Resolves when the last publish has handed all its messages over (keeps their order). */
  #enqueued: Promise<void> = Promise.resolve();
  /** Delivered offsets of own changelog writes per journaled batch, until its state is stored. */
  readonly #deliveries = new Map<number, Promise<DeliveredOffsets>>();

  constructor(settings: TaskSettings, deps: TaskDeps) {
    this.partition = settings.partition;
    this.#machine = new StateMachine(`partition ${settings.partition}`, 'restoring', TRANSITIONS);
    this.#settings = settings;
    this.#deps = deps;
  }

  get state(): TaskState {
    return this.#machine.state;
  }

  /** Move to `next`, which must be a legal successor of the current state. */
  #transition(next: TaskState): void {
    this.#machine.to(next);
  }

  get seq(): number {
    return this.#seq;
  }

  get positions(): InputPositions {
    return this.#positions;
  }

  get queued(): number {
    return this.#commands.length + this.#requests.length;
  }

  /** Recovered: start consuming after the journaled positions. */
  start(from: TaskStart): void {
    if (this.state !== 'restoring')
      throw new Error(`partition ${this.partition}: start in state ${this.state}`);
    this.#seq = from.seq;
    this.#positions = from.positions;
    this.#fetched = from.positions;
    this.#forwarded = [...from.forwarded];
    this.#forwardedQueued = [...from.forwarded];
    // Whatever the index learned while nobody owned the partition: check every waiting request.
    this.#sweep = true;
    this.#started = true;
    this.#transition('running');
    this.#pump();
  }

  /** Route a fetched message here. Returns false when it was not taken (a re-fetch or a duplicate forward). */
  push(input: 'requests' | 'repartition' | 'commands', message: LogMessage): boolean {
    if (this.state !== 'running' || message.offset < this.#fetched[input]) return false;
    this.#fetched = { ...this.#fetched, [input]: message.offset + 1 };
    if (input === 'commands') {
      const refusal = this.#deps.commandRefusal?.(message) ?? null;
      const command = { kind: INPUT_COMMAND, message, originPartition: 0, originOffset: 0 } as const;
      this.#commands.push(refusal === null ? command : { ...command, refusal });
    } else if (input === 'requests') {
      this.#requests.push({
        kind: INPUT_REQUEST,
        message,
        originPartition: this.partition,
        originOffset: message.offset,
      });
    } else {
      const named = placeOf(message, ORIGIN_HEADER);
      // A partition the device topics do not have is no origin: the journal keeps a position
      // for every origin partition up to the highest named.
      const origin = named !== undefined && named.partition < this.#settings.partitions ? named : NO_PLACE;
      const { partition: originPartition, offset: originOffset } = origin;
      // A forward sent again after its sender crashed: dropped (forwards of one source arrive
      // in its offset order).
      if (originPartition >= 0 && originOffset <= (this.#forwardedQueued[originPartition] ?? -1))
        return false;
      if (originPartition >= 0) this.#forwardedQueued[originPartition] = originOffset;
      this.#requests.push({ kind: INPUT_FORWARDED, message, originPartition, originOffset });
    }
    return true;
  }

  /** The index changed for these devices and applications: re-evaluate what waits on them. */
  markDirty(bodies: Iterable<string>, applications: Iterable<string>): void {
    for (const body of bodies) this.#dirtyBodies.add(body);
    for (const id of applications) this.#dirtyApplications.add(id);
    this.#pump();
  }

  /** Nudge after the fetch loop routed messages. */
  pump(): void {
    this.#pump();
  }

  #hasWork(): boolean {
    return (
      this.queued > 0 ||
      this.#unapplied !== undefined ||
      this.#sweep ||
      this.#dirtyBodies.size > 0 ||
      this.#dirtyApplications.size > 0
    );
  }

  #pump(): void {
    if (this.state !== 'running' || this.#cycle !== undefined || !this.#hasWork()) return;
    this.#cycle = this.#runCycle()
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        this.#cycle = undefined;
        this.#pump();
      });
  }

  /**
   * A cycle or a publish failed: what this task knows no longer matches Kafka (a batch taken
   * from the queue but not journaled, or outputs missing before later ones), and the process is
   * about to stop (onFatal). Until it does, this partition takes no further batch: a later one
   * would journal positions past the failed batch's messages, and the restart would skip them.
   */
  #fail(error: unknown): void {
    if (this.state !== 'closed' && this.state !== 'failed') this.#transition('failed');
    this.#deps.onFatal(error instanceof Error ? error : new Error(String(error)));
  }

  #take(): Queued[] {
    const max = this.#settings.batchMaxMessages;
    const batch = this.#commands.splice(0, max);
    let bytes = 0;
    let n = 0;
    while (n < this.#requests.length && batch.length + n < max) {
      const { key, value } = this.#requests[n]!.message;
      bytes += (value?.length ?? 0) + (key?.length ?? 0) + 256;
      if (n > 0 && bytes > MAX_TASK_BYTES) break;
      n++;
    }
    batch.push(...this.#requests.splice(0, n));
    return batch;
  }

  async #runCycle(): Promise<void> {
    const batch = this.#take();
    const applying = this.#unapplied;
    const dirtyBodies = [...this.#dirtyBodies];
    const dirtyApplications = [...this.#dirtyApplications];
    const sweep = this.#sweep;
    this.#dirtyBodies = new Set();
    this.#dirtyApplications = new Set();
    this.#sweep = false;
    this.#unapplied = undefined;
    const inputs = batch.map(inputOf);
    const started = performance.now();
    const now = Date.now();
    const task = encodeTask(
      {
        partition: this.partition,
        partitions: this.#settings.partitions,
        now,
        apply: applying === undefined ? [] : [applying.outputs],
        dirtyBodies,
        dirtyApplications,
        sweep,
      },
      inputs,
    );
    const result = decodeResult(await this.#deps.runner.run(task));
    if (applying !== undefined) this.#stored(applying.seq);
    if (batch.length > 0)
      this.#deps.observer.batchDecided(batch.length, (performance.now() - started) / 1000);
    const outputs = new BatchOutputs(result.outputs);
    if (batch.length === 0 && outputs.outputCount === 0 && outputs.opCount === 0) return;
    const decided = performance.now();

    // Recovery reads the last JOURNAL_WINDOW records: every batch before them must be delivered
    // before this one is journaled. Ordered, not counted: a later batch (no outputs, or a quicker
    // output partition) may settle before an earlier one (issue 20).
    for (const [earlier, delivery] of this.#publishing) {
      if (earlier <= this.#seq + 1 - JOURNAL_WINDOW) await delivery;
    }
    if (this.state !== 'running') return; // revoked while deciding: the next owner decides it again
    const positions = this.#positionsAfter(batch);
    const forwarded = this.#forwardedAfter(batch);
    const seq = this.#seq + 1;
    const at = new Date(now).toISOString();
    await this.#deps.sink.send([
      {
        topic: this.#settings.journalTopic,
        partition: this.partition,
        key: journalKey(this.partition, seq),
        value: encodeJournal(
          { seq, partition: this.partition, inputs: positions, forwarded, at },
          result.outputs,
        ),
      },
    ]);
    // Journaled: the batch is decided, whatever happens next.
    this.#seq = seq;
    this.#positions = positions;
    this.#forwarded = forwarded;
    this.#unapplied = { seq, outputs: result.outputs };
    this.#deps.observer.journalAppended(this.partition, seq, (performance.now() - decided) / 1000);
    this.#deps.observer.outcomes(result.header.counts);
    this.#publish(seq, outputs, batch.length > 0 ? batch.map((q) => q.message.timestamp ?? now) : []);
  }

  #positionsAfter(batch: readonly Queued[]): InputPositions {
    let { requests, repartition, commands } = this.#positions;
    for (const q of batch) {
      const next = q.message.offset + 1;
      if (q.kind === INPUT_REQUEST) requests = Math.max(requests, next);
      else if (q.kind === INPUT_FORWARDED) repartition = Math.max(repartition, next);
      else commands = Math.max(commands, next);
    }
    return { requests, repartition, commands };
  }

  #forwardedAfter(batch: readonly Queued[]): number[] {
    const forwarded = [...this.#forwarded];
    for (const q of batch) {
      if (q.kind === INPUT_FORWARDED && q.originPartition >= 0)
        forwarded[q.originPartition] = Math.max(forwarded[q.originPartition] ?? -1, q.originOffset);
    }
    for (let i = 0; i < forwarded.length; i++) forwarded[i] ??= -1;
    return forwarded;
  }

  /** Publish after the partition's previous publish has queued all its messages. */
  #publish(seq: number, outputs: BatchOutputs, inputTimestamps: readonly number[]): void {
    let delivered!: Promise<DeliveredOffsets>;
    const enqueued = this.#enqueued.then(async () => {
      // Fenced meanwhile: nothing more goes to the producer; the next owner publishes it.
      if (this.state !== 'running') {
        delivered = Promise.resolve(new Map());
        return;
      }
      ({ delivered } = await this.#deps.collector.publish(seq, outputs));
    });
    this.#enqueued = enqueued.catch(() => undefined);
    const done = enqueued.then(() => delivered);
    this.#deliveries.set(seq, done);
    const publishing = done.then(() => {
      if (inputTimestamps.length > 0) this.#deps.observer.delivered(inputTimestamps, Date.now());
    });
    this.#publishing.set(seq, publishing);
    publishing
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        this.#publishing.delete(seq);
      });
  }

  /** A journaled batch's state is in LMDB: once delivered, a later restore may start after its changelog writes. */
  #stored(seq: number): void {
    const delivery = this.#deliveries.get(seq);
    if (delivery === undefined) return;
    for (const earlier of this.#deliveries.keys()) if (earlier <= seq) this.#deliveries.delete(earlier);
    void delivery.then(
      (offsets) => {
        for (const role of CHANGELOG_ROLES) {
          const topic = this.#deps.collector.topic(role);
          const last = offsets.get(topic);
          if (last !== undefined) this.#deps.checkpoint(topic, last + 1);
        }
      },
      () => undefined,
    );
  }

  /**
   * Fence the task, at once: it takes no new batch, journals nothing more and hands no more
   * outputs to the producer. What it journaled and did not hand over, the next owner's recovery
   * publishes. Idempotent.
   */
  fence(): void {
    if (this.state === 'restoring' || this.state === 'running') this.#transition('draining');
    this.#commands.length = 0;
    this.#requests.length = 0;
  }

  /**
   * Fence the task, then let it finish: the cycle in flight ends without journaling, the last
   * journaled batch's state is stored here (this instance's copy stays current), and what was
   * already handed to the producer is delivered. After this, another owner may take the partition.
   */
  async drain(): Promise<void> {
    // A failed task has nothing it may still publish: the process is stopping.
    if (this.state === 'closed' || this.state === 'failed') return;
    this.fence();
    await this.#cycle;
    if (this.#started && this.#unapplied !== undefined) {
      // Store the last journaled batch's state here, so this instance's copy is current.
      const last = this.#unapplied;
      this.#unapplied = undefined;
      await this.#deps.runner.run(
        encodeTask(
          {
            partition: this.partition,
            partitions: this.#settings.partitions,
            now: Date.now(),
            apply: [last.outputs],
            dirtyBodies: [],
            dirtyApplications: [],
            sweep: false,
          },
          [],
        ),
      );
      this.#stored(last.seq);
    }
    while (this.#publishing.size > 0) await Promise.allSettled([...this.#publishing.values()]);
    if (this.state === 'draining') this.#transition('closed');
  }
}
