/**
 * The worker pool as a component (src/pool/verify-pool.ts): started with the configuration's
 * worker count and the settings the workers read, closed once the pipeline has drained it.
 */
import { type Config, workerCount } from '../config/config.js';
import { workerSettings } from '../config/worker-settings.js';
import { VerifyPool } from '../pool/verify-pool.js';
import { type Component, type Gauge, type GaugeTable, gaugesOf, started } from '../runtime/component.js';
import { clusterKeysOf } from '../security/cluster-key.js';
import { subjectSecretsOfKeys } from '../security/subject-secrets.js';

export const POOL_GAUGES: GaugeTable<VerifyPool> = [
  {
    name: 'pool_utilization',
    help: 'Share of the worker pool busy since start (0 to 1)',
    read: (pool) => pool.utilization,
  },
  {
    name: 'pool_queue_depth',
    help: 'Batches running or queued in the worker pool',
    read: (pool) => pool.inFlight,
  },
  {
    name: 'pool_capacity',
    help: 'Batches the worker pool takes before the pipeline waits',
    read: (pool) => pool.capacity,
  },
];

export class WorkerPool implements Component {
  readonly name = 'worker pool';
  readonly #config: Config;
  readonly #encryptionKey: string | undefined;
  #pool: VerifyPool | undefined;

  constructor(config: Config, encryptionKey: string | undefined) {
    this.#config = config;
    this.#encryptionKey = encryptionKey;
  }

  start(): void {
    this.#pool = new VerifyPool({
      workers: workerCount(this.#config),
      maxQueuedBatchesPerWorker: this.#config.pool.maxQueuedBatchesPerWorker,
      youngGenerationMb: this.#config.pool.youngGenerationMb,
      // The workers seal owners and phones in the store and on the topics with the cluster key's
      // secrets (issue 22, point 3); the store component made the key file if it was missing.
      settings: workerSettings(
        this.#config,
        this.#encryptionKey,
        subjectSecretsOfKeys(clusterKeysOf(this.#config, { create: true })),
      ),
    });
  }

  async stop(): Promise<void> {
    await this.#pool?.close();
  }

  get pool(): VerifyPool {
    return started(this.#pool, this.name);
  }

  get gauges(): readonly Gauge[] {
    return gaugesOf(POOL_GAUGES, this.pool);
  }
}
