/**
 * Makes sure every topic imeiflow reads or writes exists (src/kafka/topic-roles.ts), and that the
 * device-scoped ones are co-partitioned: partition N of the requests topic owns partition N of
 * the repartition, commands, journal, changelog and output topics.
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { ImeiflowError, messageOf } from '../errors.js';
import { getMetadata, type KafkaSettings, securityConfig } from './client.js';
import { configuredTopics } from './result-topics.js';
import { TOPIC_ROLES } from './topic-roles.js';
import { topicSettings } from './topic-settings.js';

export interface TopicLayout {
  /** Partitions of the requests topic (and every partition-local topic). */
  readonly partitions: number;
}

const ERR_TOPIC_ALREADY_EXISTS = 36;

async function createOnRealCluster(settings: KafkaSettings, config: Config): Promise<void> {
  const admin = Kafka.AdminClient.create({
    'bootstrap.servers': settings.bootstrapServers,
    ...securityConfig(settings),
    'client.id': settings.clientId,
  });
  try {
    for (const { role, topic } of configuredTopics(config)) {
      const { cleanup, partitions } = TOPIC_ROLES[role];
      await new Promise<void>((resolve, reject) => {
        admin.createTopic(
          {
            topic,
            num_partitions: partitions ?? config.kafka.topicPartitions,
            replication_factor: config.kafka.replicationFactor,
            config: {
              'cleanup.policy': cleanup,
              ...topicSettings(role, config.retention),
            },
          },
          10_000,
          (err) => (err && err.code !== ERR_TOPIC_ALREADY_EXISTS ? reject(err) : resolve()),
        );
      });
    }
  } finally {
    admin.disconnect();
  }
}

/** The embedded cluster has no CreateTopics: a metadata request for a topic auto-creates it. */
async function touchOnEmbeddedCluster(client: Kafka.Producer, topics: readonly string[]): Promise<void> {
  for (const topic of topics) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const md = await getMetadata(client, topic);
      const found = md.topics.find((t) => t.name === topic);
      if (found !== undefined && found.partitions.length > 0) break;
      if (Date.now() > deadline) throw new Error(`topic ${topic} was not auto-created`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function ensureTopics(
  client: Kafka.Producer,
  settings: KafkaSettings,
  config: Config,
  embedded: boolean,
): Promise<TopicLayout> {
  const names = configuredTopics(config).map(({ topic }) => topic);
  try {
    if (embedded) {
      await touchOnEmbeddedCluster(client, names);
    } else {
      try {
        await createOnRealCluster(settings, config);
      } catch (error) {
        // A cluster without CreateTopics (the embedded cluster run by `imeiflow broker`, or a
        // broker that forbids it) may still auto-create topics on a metadata request.
        await touchOnEmbeddedCluster(client, names).catch(() => {
          throw error;
        });
      }
    }
    const md = await getMetadata(client);
    const partitionsOf = (topic: string): number =>
      md.topics.find((t) => t.name === topic)?.partitions.length ?? 0;
    const partitions = partitionsOf(config.topics.requests);
    const problems: string[] = [];
    for (const { role, topic } of configuredTopics(config)) {
      const { scope, exact } = TOPIC_ROLES[role];
      const count = partitionsOf(topic);
      if (count === 0) problems.push(`${topic} does not exist`);
      else if (scope === 'device' && (exact ? count !== partitions : count < partitions)) {
        problems.push(
          `${topic} has ${count} partitions; it needs ${exact ? 'exactly' : 'at least'} ${partitions}`,
        );
      }
    }
    if (problems.length > 0) throw new Error(problems.join('; '));
    return { partitions };
  } catch (error) {
    throw new ImeiflowError('KAFKA_CONNECT_FAILED', `topics are not usable: ${messageOf(error)}`, {
      cause: error,
    });
  }
}
