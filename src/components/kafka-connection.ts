/**
 * Where the service's Kafka is: the brokers of the configuration, or, when it names none, an
 * embedded cluster started here (in memory only) and announced in the data directory, where the
 * command line finds it to load and manage tokens through it while the service runs.
 */
import type { Config } from '../config/config.js';
import { type KafkaSettings, resolveKafkaSecurity } from '../kafka/client.js';
import { type EmbeddedCluster, startEmbeddedCluster } from '../kafka/embedded-cluster.js';
import { announceEmbeddedCluster, withdrawEmbeddedCluster } from '../kafka/embedded-cluster-file.js';
import { type Component, started } from '../runtime/component.js';

export interface KafkaConnectionDeps {
  readonly dataDir: string;
  readonly kafka: Config['kafka'];
}

export class KafkaConnection implements Component {
  readonly name = 'kafka connection';
  readonly #deps: KafkaConnectionDeps;
  #cluster: EmbeddedCluster | undefined;
  #settings: KafkaSettings | undefined;

  constructor(deps: KafkaConnectionDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const { kafka, dataDir } = this.#deps;
    if (kafka.brokers !== null) {
      this.#settings = {
        bootstrapServers: kafka.brokers,
        clientId: kafka.clientId,
        security: resolveKafkaSecurity(kafka.security),
      };
      return;
    }
    const cluster = await startEmbeddedCluster(kafka.embeddedBrokers);
    this.#cluster = cluster;
    try {
      announceEmbeddedCluster(dataDir, cluster.bootstrapServers);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    // The embedded cluster speaks plaintext only (the configuration refuses anything else there).
    this.#settings = { bootstrapServers: cluster.bootstrapServers, clientId: kafka.clientId };
  }

  /** The announcement withdrawn first, then the cluster stopped, even if the first failed. */
  async stop(): Promise<void> {
    const cluster = this.#cluster;
    if (cluster === undefined) return;
    try {
      withdrawEmbeddedCluster(this.#deps.dataDir);
    } finally {
      await cluster.stop();
    }
  }

  /** How every client of the service connects. */
  get settings(): KafkaSettings {
    return started(this.#settings, this.name);
  }

  get bootstrapServers(): string {
    return this.settings.bootstrapServers;
  }

  /** True when the service runs on its own embedded cluster. */
  get embedded(): boolean {
    return this.#cluster !== undefined;
  }
}
