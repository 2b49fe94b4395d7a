/**
 * node-rdkafka's callback API as promises, and the client settings imeiflow uses everywhere,
 * TLS and SASL included. Every option here was looked up in librdkafka's CONFIGURATION.md; the
 * comments say why.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import type Kafka from 'node-rdkafka';
import { ImeiflowError, messageOf } from '../errors.js';
import { JOURNAL_MAX_MESSAGE_BYTES } from './device-topics.js';

export type { Message } from 'node-rdkafka';

/**
 * TLS and SASL towards the brokers, as librdkafka properties (`security.protocol`, `ssl.*`,
 * `sasl.*`), secrets included. The properties sit in a private field, so the settings can be
 * logged or serialised by mistake without the secrets going along (JSON gives `{}`).
 */
export class KafkaSecurity {
  readonly #properties: Readonly<Record<string, string>>;

  constructor(properties: Readonly<Record<string, string>>) {
    this.#properties = Object.freeze({ ...properties });
  }

  /** The librdkafka properties, to spread into a client's configuration. */
  properties(): Readonly<Record<string, string>> {
    return this.#properties;
  }
}

export interface KafkaSettings {
  readonly bootstrapServers: string;
  readonly clientId: string;
  /** TLS/SASL for a real cluster; absent: plaintext (the embedded cluster speaks nothing else). */
  readonly security?: KafkaSecurity;
}

/** `kafka.security` of the configuration (src/config/config.ts). */
export interface KafkaSecurityConfig {
  readonly protocol: string;
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  readonly secretFiles: Readonly<Partial<Record<string, string>>>;
}

/** Properties that name a file (or directory) librdkafka reads when a client starts. */
const FILE_PROPERTIES = [
  'ssl.ca.location',
  'ssl.certificate.location',
  'ssl.key.location',
  'ssl.crl.location',
  'ssl.keystore.location',
  'sasl.kerberos.keytab',
  'sasl.oauthbearer.assertion.private.key.file',
  'sasl.oauthbearer.assertion.file',
];

/**
 * Resolve `kafka.security` into librdkafka properties: reads each secret from its file (one
 * trailing newline dropped, as `echo` and Kubernetes secrets leave it) and checks that every
 * file librdkafka will read is there and readable, so a bad path stops start-up with the file
 * named instead of a TLS error from deep inside a client.
 */
export function resolveKafkaSecurity(config: KafkaSecurityConfig): KafkaSecurity {
  const properties: Record<string, string> = { 'security.protocol': config.protocol };
  for (const [key, value] of Object.entries(config.settings)) {
    const text = String(value);
    // `probe`: librdkafka looks for the system's CA bundle itself.
    if (FILE_PROPERTIES.includes(key) && !(key === 'ssl.ca.location' && text === 'probe')) {
      try {
        accessSync(text, constants.R_OK);
      } catch (error) {
        throw new ImeiflowError(
          'CONFIG_INVALID',
          `kafka.security ${key}: ${text} cannot be read: ${messageOf(error)}`,
          {
            cause: error,
          },
        );
      }
    }
    properties[key] = text;
  }
  for (const [key, file] of Object.entries(config.secretFiles)) {
    if (file === undefined) continue;
    let secret: string;
    try {
      secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      // The file's name, never its content.
      throw new ImeiflowError(
        'CONFIG_INVALID',
        `kafka.security ${key}: ${file} cannot be read: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    properties[key] = secret;
  }
  return new KafkaSecurity(properties);
}

/**
 * The security properties of `settings`, for a client whose configuration is built elsewhere
 * (every client of a TLS/SASL cluster needs them, admin clients included).
 */
export function securityConfig(settings: KafkaSettings): Readonly<Record<string, string>> {
  return settings.security?.properties() ?? {};
}

export function producerConfig(
  settings: KafkaSettings,
  extra: Kafka.ProducerGlobalConfig = {},
): Kafka.ProducerGlobalConfig {
  return {
    'bootstrap.servers': settings.bootstrapServers,
    'client.id': settings.clientId,
    ...securityConfig(settings),
    // Idempotence keeps each partition's messages in produce order without duplicates across
    // retries: the journal's recovery relies on "last message per partition" being meaningful.
    'enable.idempotence': true, // implies acks=all
    // A message that fails after later ones of its partition were written would leave a gap no
    // position header shows (recovery trusts the last one): librdkafka raises a fatal error
    // instead, the task fails, and the restart republishes from the journal (issue 20).
    'enable.gapless.guarantee': true,
    'linger.ms': 2,
    'queue.buffering.max.messages': 1_000_000,
    'queue.buffering.max.kbytes': 1_048_576,
    // The journal topic takes records up to 8 MiB (src/kafka/topic-roles.ts): a batch's journal
    // record must never be refused by the producer before the broker sees it.
    'message.max.bytes': JOURNAL_MAX_MESSAGE_BYTES,
    'compression.codec': 'lz4',
    dr_cb: true,
    ...extra,
  };
}

/**
 * Topic settings of imeiflow's producers: keys are placed as Java clients place them (murmur2),
 * so a message imeiflow keys and one KGD's or an operator's Java producer keys land alike, and a
 * request keyed by its IMEI body lands on its device's partition (src/domain/device-partition.ts).
 * A topic setting: librdkafka ignores it in the global configuration node-rdkafka passes.
 */
export const PRODUCER_TOPIC_CONFIG: Kafka.ProducerTopicConfig = { partitioner: 'murmur2_random' };

/**
 * A reader: a consumer that assigns partitions itself and keeps its positions elsewhere (LMDB, or
 * its caller) — recovery's restore reader, the global tables, the registry view. Kafka Streams
 * has the same kinds (its main, restore and global consumers): the group consumer is
 * `consumerConfig`, the producer `producerConfig`.
 */
export function readerConfig(
  settings: KafkaSettings,
  reader: { readonly name: string; readonly groupId: string; readonly fetchWaitMs: number },
): Kafka.ConsumerGlobalConfig {
  return {
    'bootstrap.servers': settings.bootstrapServers,
    ...securityConfig(settings),
    'client.id': `${settings.clientId}-${reader.name}`,
    // Never used for commits or membership (assign() only); librdkafka still wants a group id.
    'group.id': `${reader.groupId}.${reader.name}`,
    'enable.auto.commit': false,
    'isolation.level': 'read_committed',
    'fetch.wait.max.ms': reader.fetchWaitMs,
    // The broker says where the data ends (an end-of-partition event at its high watermark): a
    // read ends there, never after a quiet spell (issue 20).
    'enable.partition.eof': true,
  };
}

/** The group consumer: the request pipeline's, and the record validator's. */
export function consumerConfig(
  settings: KafkaSettings,
  groupId: string,
  extra: Kafka.ConsumerGlobalConfig = {},
): Kafka.ConsumerGlobalConfig {
  return {
    'bootstrap.servers': settings.bootstrapServers,
    'client.id': settings.clientId,
    ...securityConfig(settings),
    'group.id': groupId,
    // Progress lives in the journal; group offsets are committed after it, as a hint for tools.
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'isolation.level': 'read_committed',
    // Range assigns partition N of every subscribed topic to the same member: the requests and
    // commands topics are co-partitioned and must move together.
    'partition.assignment.strategy': 'range',
    'fetch.wait.max.ms': 10,
    // node-rdkafka's consume(n) polls until it has n messages unless a poll times out; with a
    // steady trickle that is never. At a partition's end an EOF event makes it return what it
    // has: batches form from what is there, not by waiting.
    'enable.partition.eof': true,
    // Bounds what librdkafka prefetches while the pipeline is not polling (backpressure).
    'queued.max.messages.kbytes': 16_384,
    'session.timeout.ms': 6_000,
    'heartbeat.interval.ms': 1_000,
    'topic.metadata.refresh.interval.ms': 5_000,
    ...extra,
  };
}

export function connect<C extends Kafka.Producer | Kafka.KafkaConsumer>(client: C, what: string): Promise<C> {
  return new Promise((resolve, reject) => {
    client.connect({ timeout: 15_000 }, (err) => {
      if (err) {
        reject(
          new ImeiflowError('KAFKA_CONNECT_FAILED', `${what}: cannot connect: ${messageOf(err)}`, {
            cause: err,
            retriable: true,
          }),
        );
      } else resolve(client);
    });
  });
}

export function disconnect(client: Kafka.Producer | Kafka.KafkaConsumer): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isConnected()) return resolve();
    client.disconnect(() => resolve());
  });
}

export function getMetadata(
  client: Kafka.Producer | Kafka.KafkaConsumer,
  topic?: string,
): Promise<Kafka.Metadata> {
  return new Promise((resolve, reject) =>
    client.getMetadata({ ...(topic === undefined ? {} : { topic }), timeout: 10_000 }, (err, md) =>
      err ? reject(err) : resolve(md),
    ),
  );
}

export function watermarks(
  client: Kafka.Producer | Kafka.KafkaConsumer,
  topic: string,
  partition: number,
): Promise<Kafka.WatermarkOffsets> {
  return new Promise((resolve, reject) =>
    client.queryWatermarkOffsets(topic, partition, 10_000, (err, offsets) =>
      err ? reject(err) : resolve(offsets),
    ),
  );
}

export function consume(consumer: Kafka.KafkaConsumer, max: number): Promise<Kafka.Message[]> {
  return new Promise((resolve, reject) =>
    consumer.consume(max, (err, messages) => (err ? reject(err) : resolve(messages))),
  );
}

export function flush(producer: Kafka.Producer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) =>
    producer.flush(timeoutMs, (err) => (err ? reject(err) : resolve())),
  );
}

/** A message header value as a string. */
export function headerValue(message: Kafka.Message, name: string): string | undefined {
  for (const header of message.headers ?? []) {
    const value = header[name];
    if (value !== undefined) return typeof value === 'string' ? value : value.toString('utf8');
  }
  return undefined;
}
