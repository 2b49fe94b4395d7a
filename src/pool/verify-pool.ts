/**
 * The Piscina pool of verify workers, seen from the main thread: run a partition batch (an
 * encoded task, src/pool/batch-contract.ts), get its encoded result.
 * The queue is bounded (`maxQueue`); callers watch `needsDrain` and the `drain` event to pause
 * and resume their input instead of queueing without limit.
 */
import { EventEmitter } from 'node:events';
import { Piscina } from 'piscina';
import { ImeiflowError } from '../errors.js';
import { VERIFY_WORKER_FILE } from '../paths.js';
import type { WorkerSettings } from './batch-contract.js';

export interface VerifyPoolOptions {
  readonly workers: number;
  /** Batches that may wait per worker before `needsDrain` turns true. */
  readonly maxQueuedBatchesPerWorker: number;
  readonly settings: WorkerSettings;
  /** Each worker's young generation in MB (`pool.youngGenerationMb`); 0 or none: V8's own. */
  readonly youngGenerationMb?: number;
}

/**
 * A worker's options for a young generation of `mb` MB (0 or none: V8's own, no resource limits),
 * for Piscina or a `Worker`.
 */
export function workerResourceLimits(mb: number | undefined): {
  readonly resourceLimits?: { maxYoungGenerationSizeMb: number };
} {
  return mb === undefined || mb === 0 ? {} : { resourceLimits: { maxYoungGenerationSizeMb: mb } };
}

export class VerifyPool extends EventEmitter {
  readonly #piscina: Piscina<Uint8Array, Uint8Array>;
  readonly workers: number;
  /** Batches that may be running or queued at once: one running per worker plus the queue. */
  readonly capacity: number;
  #inFlight = 0;

  constructor(options: VerifyPoolOptions) {
    super();
    this.workers = options.workers;
    this.capacity = options.workers * (1 + options.maxQueuedBatchesPerWorker);
    this.#piscina = new Piscina({
      filename: VERIFY_WORKER_FILE,
      minThreads: options.workers,
      maxThreads: options.workers,
      // A worker awaiting the LMDB commit of a batch's state takes another partition's batch
      // meanwhile (LMDB serialises the writes; the decisions need only the CPU).
      concurrentTasksPerWorker: 2,
      // Workers hold an LMDB read transaction and warm caches: keep them.
      idleTimeout: Number.POSITIVE_INFINITY,
      // Our own bound (capacity) is the one that matters; Piscina's is a safety net above it.
      maxQueue: this.capacity,
      workerData: options.settings,
      recordTiming: true,
      ...workerResourceLimits(options.youngGenerationMb),
    });
  }

  /**
   * Decide a batch; results are in message order. Submitting while `needsDrain` is true fails
   * with POOL_QUEUE_FULL: wait for `drain` instead.
   */
  async run(task: Uint8Array): Promise<Uint8Array> {
    if (this.#inFlight >= this.capacity) {
      throw new ImeiflowError(
        'POOL_QUEUE_FULL',
        `the verify pool already has ${this.#inFlight} batches in flight`,
        {
          retriable: true,
        },
      );
    }
    this.#inFlight++;
    try {
      return await this.#piscina.run(Piscina.move(task) as Uint8Array);
    } catch (error) {
      throw new ImeiflowError('POOL_TASK_FAILED', `verify worker failed: ${String(error)}`, { cause: error });
    } finally {
      this.#inFlight--;
      if (this.#inFlight === this.capacity - 1) this.emit('drain');
    }
  }

  /** True when another batch would exceed the bound: wait for `drain`. */
  get needsDrain(): boolean {
    return this.#inFlight >= this.capacity;
  }

  /** Batches running or queued right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get queueSize(): number {
    return this.#piscina.queueSize;
  }

  /** Share of the pool's capacity used since it started, 0…1. */
  get utilization(): number {
    return this.#piscina.utilization;
  }

  get completed(): number {
    return this.#piscina.completed;
  }

  async close(): Promise<void> {
    await this.#piscina.close();
  }
}
