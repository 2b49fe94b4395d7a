/**
 * What the pipeline needs from Kafka, as two small interfaces: the producer side (messages out,
 * in order, with their delivery) and direct reads of single partitions (recovery and restore).
 * The node-rdkafka implementations are src/kafka/delivering-producer.ts and
 * src/kafka/partition-reader.ts; tests use an in-memory log (test/support/memory-kafka.ts) to
 * crash the commit protocol at every step without a broker.
 */
import type Kafka from 'node-rdkafka';
import type { DeliveredOffsets, OutgoingMessage } from '../kafka/delivering-producer.js';

export type { DeliveredOffsets, OutgoingMessage } from '../kafka/delivering-producer.js';

export interface OutputSink {
  /**
   * Hand messages over in order. Resolves once all are queued, with a promise of their delivery:
   * a caller that must keep the order of several sends to one partition starts the next only
   * after this resolves.
   */
  enqueue(messages: readonly OutgoingMessage[]): Promise<{ delivered: Promise<DeliveredOffsets> }>;
  /** Produce and wait for delivery. */
  send(messages: readonly OutgoingMessage[]): Promise<DeliveredOffsets>;
}

/** A message read back from a partition. */
export type LogMessage = Pick<
  Kafka.Message,
  'topic' | 'partition' | 'offset' | 'key' | 'value' | 'headers' | 'timestamp'
>;

export interface PartitionLog {
  /** [low, high): the first offset kept and the next offset to be written. */
  bounds(topic: string, partition: number): Promise<{ low: number; high: number }>;
  /** The last `count` messages of a partition (fewer if it holds fewer), oldest first. */
  lastMessages(topic: string, partition: number, count: number): Promise<LogMessage[]>;
  /**
   * Every message from `from` (or the first kept, if later) to the current end, handed over in
   * awaited batches. Resolves with the end offset.
   */
  readToEnd(
    topic: string,
    partition: number,
    from: number,
    onBatch: (messages: readonly LogMessage[]) => Promise<void>,
  ): Promise<number>;
}

/** A message header value as a string. */
export function headerOf(message: Pick<Kafka.Message, 'headers'>, name: string): string | undefined {
  for (const header of message.headers ?? []) {
    const value = header[name];
    if (value !== undefined) return typeof value === 'string' ? value : value.toString('utf8');
  }
  return undefined;
}

export function keyOf(message: Pick<Kafka.Message, 'key'>): string | null {
  const key = message.key;
  if (key === null || key === undefined) return null;
  return typeof key === 'string' ? key : key.toString('utf8');
}
