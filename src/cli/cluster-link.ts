/**
 * Where a CLI command acts. Loads and token changes are cluster-wide state: with KAFKA_BROKERS
 * set, the CLI publishes them to that cluster, and every instance applies them. Without it, the
 * embedded cluster is inside `imeiflow run` on this data directory: while that service runs, the
 * CLI finds it through the file the service writes into the data directory and acts through it;
 * when it does not run, the CLI writes this data directory's store directly (the service reads
 * it when it starts).
 *
 * Acting on a cluster, the CLI signs what it writes to the tokens and audit topics with the
 * cluster key, and verifies what it reads there, as the instances do (src/security/cluster-key.ts:
 * the configured file, or the running embedded service's `<data dir>/cluster.key`).
 */

import type { Config } from '../config/config.js';
import { type KafkaSettings, resolveKafkaSecurity } from '../kafka/client.js';
import { DeliveringProducer } from '../kafka/delivering-producer.js';
import { runningEmbeddedCluster } from '../kafka/embedded-cluster-file.js';
import { type TableDecoders, tableDecoders } from '../pipeline/table-decoders.js';
import { clusterKeysOf } from '../security/cluster-key.js';
import { clusterVerifier, EventSigner } from '../security/signed-events.js';
import { subjectSecretsOfKeys } from '../security/subject-secrets.js';
import { Pseudonyms } from '../store/pseudonyms.js';
import { TopicSeal } from '../store/topic-seal.js';

export interface ClusterLink {
  readonly bootstrapServers: string;
  /** Where it came from: `KAFKA_BROKERS`, or the embedded cluster of a running service. */
  readonly via: 'KAFKA_BROKERS' | 'running service';
  readonly settings: KafkaSettings;
  readonly producer: DeliveringProducer;
  /** Signs token events and audit entries with the cluster key. */
  readonly signer: EventSigner;
  /** Owners' pseudonyms under the cluster's keys (a purge names an owner by them). */
  readonly pseudonyms: Pseudonyms;
  /** Reads the cluster's topics as its instances do: token events and audit entries verified. */
  readonly decoders: TableDecoders;
  close(): Promise<void>;
}

/** A producer on the cluster the CLI should act on, or undefined: act on the local store. */
export async function linkToCluster(config: Config): Promise<ClusterLink | undefined> {
  const brokers = config.kafka.brokers;
  const embedded = brokers === null ? runningEmbeddedCluster(config.dataDir) : undefined;
  const bootstrapServers = brokers ?? embedded;
  if (bootstrapServers === undefined) return undefined;
  // Before connecting: without the key there is nothing the CLI may write there.
  const keys = clusterKeysOf(config, { create: false });
  const settings: KafkaSettings = {
    bootstrapServers,
    clientId: `${config.kafka.clientId}-cli`,
    ...(brokers === null ? {} : { security: resolveKafkaSecurity(config.kafka.security) }),
  };
  const producer = await DeliveringProducer.connect(settings, 'CLI producer');
  return {
    bootstrapServers,
    via: brokers === null ? 'running service' : 'KAFKA_BROKERS',
    settings,
    producer,
    signer: new EventSigner(keys),
    pseudonyms: new Pseudonyms(subjectSecretsOfKeys(keys).pseudonym),
    decoders: tableDecoders(
      clusterVerifier(keys, config.security.unsignedBefore),
      new TopicSeal(subjectSecretsOfKeys(keys).topic),
    ),
    close: () => producer.close(),
  };
}
