/**
 * node-rdkafka's callback API as promises, and the client settings imeiflow uses everywhere.
 * Every option here was looked up in librdkafka's CONFIGURATION.md; the comments say why.
 */
import type Kafka from 'node-rdkafka';
import { ImeiflowError, messageOf } from '../errors.js';

export type { Message } from 'node-rdkafka';

export interface KafkaSettings {
  readonly bootstrapServers: string;
  readonly clientId: string;
}

export function producerConfig(
  settings: KafkaSettings,
  extra: Kafka.ProducerGlobalConfig = {},
): Kafka.ProducerGlobalConfig {
  return {
    'bootstrap.servers': settings.bootstrapServers,
    'client.id': settings.clientId,
    // Idempotence keeps each partition's messages in produce order without duplicates across
    // retries: the journal's recovery relies on "last message per partition" being meaningful.
    'enable.idempotence': true, // implies acks=all
    'linger.ms': 2,
    'queue.buffering.max.messages': 1_000_000,
    'queue.buffering.max.kbytes': 1_048_576,
    'message.max.bytes': 4 * 1024 * 1024,
    'compression.codec': 'lz4',
    dr_cb: true,
    ...extra,
  };
}

export function consumerConfig(
  settings: KafkaSettings,
  groupId: string,
  extra: Kafka.ConsumerGlobalConfig = {},
): Kafka.ConsumerGlobalConfig {
  return {
    'bootstrap.servers': settings.bootstrapServers,
    'client.id': settings.clientId,
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
