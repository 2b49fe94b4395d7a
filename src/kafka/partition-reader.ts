/**
 * Reads single partitions directly (no consumer group): the last message of a partition, or a
 * range up to its end. Used when a partition is assigned, to find where the previous owner
 * stopped and to restore its state. One read at a time.
 */
import Kafka from 'node-rdkafka';
import { ImeiflowError } from '../errors.js';
import { connect, consume, disconnect, type KafkaSettings, readerConfig, watermarks } from './client.js';

/**
 * How long one read may wait for the broker before recovery gives up with KAFKA_FATAL (and the
 * process restarts): a stalled broker is waited for, never taken for the end of the data.
 */
const READ_TIMEOUT_MS = 60_000;

export type BatchHandler = (messages: readonly Kafka.Message[]) => Promise<void>;

export class PartitionReader {
  readonly #consumer: Kafka.KafkaConsumer;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(consumer: Kafka.KafkaConsumer) {
    this.#consumer = consumer;
  }

  static async connect(settings: KafkaSettings, groupId: string): Promise<PartitionReader> {
    const consumer = new Kafka.KafkaConsumer(
      readerConfig(settings, { name: 'reader', groupId, fetchWaitMs: 5 }),
      {},
    );
    await connect(consumer, 'partition reader');
    consumer.setDefaultConsumeTimeout(50);
    return new PartitionReader(consumer);
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work, work);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** [low, high): the first offset kept and the next offset to be written. */
  async bounds(topic: string, partition: number): Promise<{ low: number; high: number }> {
    const w = await watermarks(this.#consumer, topic, partition);
    return { low: w.lowOffset, high: w.highOffset };
  }

  lastMessage(topic: string, partition: number): Promise<Kafka.Message | undefined> {
    return this.#exclusive(async () => {
      const { low, high } = await this.bounds(topic, partition);
      if (high <= low) return undefined;
      let found: Kafka.Message | undefined;
      await this.#read(topic, partition, high - 1, high, async (batch) => {
        found = batch[batch.length - 1] ?? found;
      });
      return found;
    });
  }

  /** The last `count` messages of a partition (fewer if it holds fewer), oldest first. */
  lastMessages(topic: string, partition: number, count: number): Promise<Kafka.Message[]> {
    return this.#exclusive(async () => {
      const { low, high } = await this.bounds(topic, partition);
      const found: Kafka.Message[] = [];
      const start = Math.max(low, high - count);
      if (start < high) {
        await this.#read(topic, partition, start, high, async (batch) => {
          found.push(...batch);
        });
      }
      return found;
    });
  }

  /**
   * Every message from `from` (or the first kept, if later) to the current end, handed over in
   * awaited batches so memory stays bounded. Resolves with the end offset.
   */
  readToEnd(topic: string, partition: number, from: number, onBatch: BatchHandler): Promise<number> {
    return this.#exclusive(async () => {
      const { low, high } = await this.bounds(topic, partition);
      const start = Math.max(from, low);
      if (start < high) await this.#read(topic, partition, start, high, onBatch);
      return high;
    });
  }

  async #read(
    topic: string,
    partition: number,
    from: number,
    end: number,
    onBatch: BatchHandler,
  ): Promise<void> {
    // The end-of-partition offset the broker reported during this read (-1: none yet).
    let eof = -1;
    const onEof = (event: { topic: string; partition: number; offset: number }): void => {
      if (event.topic === topic && event.partition === partition) eof = Math.max(eof, event.offset);
    };
    this.#consumer.on('partition.eof', onEof);
    this.#consumer.assign([{ topic, partition, offset: from }]);
    const deadline = Date.now() + READ_TIMEOUT_MS;
    try {
      let next = from;
      // Compaction and transaction markers leave gaps: stop at the end offset, or where the broker
      // says the partition ends past it — never after a count of empty polls, which a slow
      // broker (a leader election, throttling, a stall) would fake.
      while (next < end && eof < end) {
        const messages = (await consume(this.#consumer, 1000)).filter(
          (m) => m.offset >= next && m.offset < end,
        );
        if (messages.length > 0) {
          await onBatch(messages);
          next = messages[messages.length - 1]!.offset + 1;
        }
        if (Date.now() > deadline) {
          throw new ImeiflowError(
            'KAFKA_FATAL',
            `reading ${topic}[${partition}] from ${from} to ${end} timed out at ${next}`,
            {
              retriable: true,
            },
          );
        }
      }
    } finally {
      this.#consumer.removeListener('partition.eof', onEof);
      this.#consumer.unassign();
    }
  }

  close(): Promise<void> {
    return disconnect(this.#consumer);
  }
}
