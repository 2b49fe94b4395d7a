/** What the control plane needs from the rest of the service. */
import type { Config } from '../config/config.js';
import type { RegistryEntry } from '../domain/types.js';
import type { ClusterTarget } from '../loaders/cluster-sinks.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { CommandSender } from '../pipeline/command-sender.js';
import type { PurgeChannel } from '../retention/purge-orders.js';
import type { AuditLog } from '../security/audit-log.js';
import type { TokenService } from '../security/tokens.js';
import type { Store } from '../store/store.js';

export interface ServiceInfo {
  readonly version: string;
  readonly embeddedKafka: boolean;
  readonly brokers: string;
  readonly topics: Record<string, string>;
  readonly partitions: number;
  readonly workers: number;
}

export interface ControlPlaneDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly store: Store;
  readonly tokens: TokenService;
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly info: ServiceInfo;
  /** Where loads go (the cluster); absent: into `store` (tests, tools). */
  readonly loads?: ClusterTarget;
  /** Sends review commands; absent when the control plane runs without Kafka (tests, tools). */
  readonly commands?: CommandSender;
  /** A device's registry entry, wherever its partition is owned; absent: this store's. */
  readonly registryOf?: (body: string) => RegistryEntry | undefined;
  /** Where purges are ordered (src/retention/purge-orders.ts); absent without Kafka. */
  readonly purge?: PurgeChannel;
  /** A request could not write because the store is full: the service stops (absent: it does not). */
  readonly onStoreFull?: (error: unknown) => void;
  /** Why the service is not ready, or null when it is. */
  readonly notReadyReason: () => string | null;
  readonly ownedPartitions: () => readonly number[];
}
