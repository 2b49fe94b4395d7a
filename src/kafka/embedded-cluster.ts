/**
 * The embedded Kafka-protocol cluster: librdkafka's mock cluster, which node-rdkafka contains.
 * A client created with `test.mock.num.brokers` starts the brokers in-process; other clients and
 * processes (kcat included) connect to the addresses its metadata reports. Messages live in
 * memory only, about 5 MB per partition; topics auto-create with 4 partitions.
 *
 * What it does not do (read in librdkafka's rdkafka_mock_handlers.c and measured): it accepts
 * transactional offset commits without storing them and writes no commit/abort markers, so
 * Kafka transactions give no guarantee on it. imeiflow's exactly-once protocol (the journal,
 * see src/pipeline/journal.ts) does not rely on them.
 */
import Kafka from 'node-rdkafka';
import { ImeiflowError, messageOf } from '../errors.js';

export interface EmbeddedCluster {
  readonly bootstrapServers: string;
  stop(): Promise<void>;
}

export async function startEmbeddedCluster(brokers: number): Promise<EmbeddedCluster> {
  // This client's only job is to own the mock brokers: they live as long as it is connected.
  // `test.mock.num.brokers` is a librdkafka test property the typings do not list.
  const config = {
    'test.mock.num.brokers': brokers,
    'client.id': 'imeiflow-embedded-cluster',
  } as Kafka.ProducerGlobalConfig;
  const host = new Kafka.Producer(config);
  try {
    await new Promise<void>((resolve, reject) => host.connect({}, (err) => (err ? reject(err) : resolve())));
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) =>
      host.getMetadata({ timeout: 10_000 }, (err, md) => (err ? reject(err) : resolve(md))),
    );
    const bootstrapServers = metadata.brokers.map((b) => `${b.host}:${b.port}`).join(',');
    return {
      bootstrapServers,
      stop: () => new Promise<void>((resolve) => host.disconnect(() => resolve())),
    };
  } catch (error) {
    throw new ImeiflowError(
      'KAFKA_CONNECT_FAILED',
      `cannot start the embedded Kafka cluster: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
}
