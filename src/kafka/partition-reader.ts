/**
 * Reads single partitions directly (no consumer group): the last message of a partition, or a
 * range up to its end. Used when a partition is assigned, to find where the previous owner
 * stopped and to restore its state. One read at a time.
 */
import Kafka from 'node-rdkafka';
import { ImeiflowError } from '../errors.js';
import { connect, consume, disconnect, type KafkaSettings, watermarks } from './client.js';

const READ_TIMEOUT_MS = 30_000;

export class PartitionReader {
  readonly #consumer: Kafka.KafkaConsumer;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(consumer: Kafka.KafkaConsumer) {
    this.#consumer = consumer;
  }

  static async connect(settings: KafkaSettings, groupId: string): Promise<PartitionReader> {
    const consumer = new Kafka.KafkaConsumer(
      {
        'bootstrap.servers': settings.bootstrapServers,
        'client.id': `${settings.clientId}-reader`,
        // Never used for commits: assign() only. librdkafka still wants a group id.
        'group.id': `${groupId}.reader`,
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
        'fetch.wait.max.ms': 5,
      },
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
  bounds(topic: string, partition: number): Promise<{ low: number; high: number }> {
    return watermarks(this.#consumer, topic, partition).then((w) => ({
      low: w.lowOffset,
      high: w.highOffset,
    }));
  }

  lastMessage(topic: string, partition: number): Promise<Kafka.Message | undefined> {
    return this.#exclusive(async () => {
      const { low, high } = await this.bounds(topic, partition);
      if (high <= low) return undefined;
      let found: Kafka.Message | undefined;
      await this.#read(topic, partition, high - 1, high, (m) => {
        found = m;
      });
      return found;
    });
  }

  /** Every message from `from` (or the first kept, if later) to the current end. */
  readToEnd(
    topic: string,
    partition: number,
    from: number,
    onMessage: (m: Kafka.Message) => void,
  ): Promise<number> {
    return this.#exclusive(async () => {
      const { low, high } = await this.bounds(topic, partition);
      const start = Math.max(from, low);
      if (start < high) await this.#read(topic, partition, start, high, onMessage);
      return high;
    });
  }

  async #read(
    topic: string,
    partition: number,
    from: number,
    end: number,
    onMessage: (m: Kafka.Message) => void,
  ): Promise<void> {
    this.#consumer.assign([{ topic, partition, offset: from }]);
    const deadline = Date.now() + READ_TIMEOUT_MS;
    try {
      let next = from;
      while (next < end) {
        const messages = await consume(this.#consumer, 1000);
        for (const m of messages) {
          if (m.offset < next) continue;
          onMessage(m);
          next = m.offset + 1;
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
      this.#consumer.unassign();
    }
  }

  close(): Promise<void> {
    return disconnect(this.#consumer);
  }
}
