/**
 * A node-rdkafka producer whose sends resolve when every message of the send is delivered
 * (acknowledged by all in-sync replicas), in the order given. A full local queue waits instead
 * of failing: that is how producer backpressure reaches the pipeline.
 */
import Kafka from 'node-rdkafka';
import { ImeiflowError, messageOf } from '../errors.js';
import {
  connect,
  disconnect,
  flush,
  type KafkaSettings,
  PRODUCER_TOPIC_CONFIG,
  producerConfig,
} from './client.js';

export interface OutgoingMessage {
  readonly topic: string;
  /** null: the partitioner chooses from the key (murmur2, as Java clients do). */
  readonly partition: number | null;
  readonly key: string | Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Kafka.MessageHeader[];
  /** CreateTime to give the message (a forwarded request keeps its receipt time); default now. */
  readonly timestamp?: number;
}

/** Per topic, the offset of the last message of a send. */
export type DeliveredOffsets = Map<string, number>;

interface Ticket {
  remaining: number;
  failed: boolean;
  readonly lastOffsets: DeliveredOffsets;
  resolve(offsets: DeliveredOffsets): void;
  reject(error: Error): void;
}

const ERR_QUEUE_FULL = Kafka.CODES.ERRORS.ERR__QUEUE_FULL;

export class DeliveringProducer {
  readonly #producer: Kafka.Producer;
  #queued = 0;

  private constructor(producer: Kafka.Producer) {
    this.#producer = producer;
    producer.on('delivery-report', (err, report) => this.#delivered(err, report));
  }

  static async connect(settings: KafkaSettings, what: string): Promise<DeliveringProducer> {
    const producer = new Kafka.Producer(producerConfig(settings), PRODUCER_TOPIC_CONFIG);
    await connect(producer, what);
    producer.setPollInterval(2);
    return new DeliveringProducer(producer);
  }

  /** Messages handed to librdkafka and not yet delivered. */
  get queued(): number {
    return this.#queued;
  }

  get client(): Kafka.Producer {
    return this.#producer;
  }

  #delivered(err: Kafka.LibrdKafkaError | null, report: Kafka.DeliveryReport): void {
    this.#queued--;
    const ticket = report.opaque as Ticket | undefined;
    if (ticket === undefined || ticket.failed) return;
    if (err) {
      ticket.failed = true;
      ticket.reject(
        new ImeiflowError(
          'KAFKA_FATAL',
          `delivery to ${report.topic}[${report.partition}] failed: ${messageOf(err)}`,
          {
            cause: err,
          },
        ),
      );
      return;
    }
    const last = ticket.lastOffsets.get(report.topic);
    if (last === undefined || report.offset > last) ticket.lastOffsets.set(report.topic, report.offset);
    if (--ticket.remaining === 0) ticket.resolve(ticket.lastOffsets);
  }

  /** Produce the messages in order and wait until all are delivered. */
  async send(messages: readonly OutgoingMessage[]): Promise<DeliveredOffsets> {
    const { delivered } = await this.enqueue(messages);
    return delivered;
  }

  /**
   * Hand the messages to librdkafka in order. Resolves once all are queued (after waiting out a
   * full queue), with a promise of their delivery: a caller that must keep the order of several
   * sends to one partition starts the next only after this resolves.
   */
  async enqueue(messages: readonly OutgoingMessage[]): Promise<{ delivered: Promise<DeliveredOffsets> }> {
    if (messages.length === 0) return { delivered: Promise.resolve(new Map()) };
    let ticket!: Ticket;
    const done = new Promise<DeliveredOffsets>((resolve, reject) => {
      ticket = { remaining: messages.length, failed: false, lastOffsets: new Map(), resolve, reject };
    });
    for (const message of messages) {
      for (;;) {
        try {
          this.#producer.produce(
            message.topic,
            message.partition,
            message.value,
            message.key,
            message.timestamp ?? null,
            ticket,
            message.headers,
          );
          this.#queued++;
          break;
        } catch (error) {
          if ((error as { code?: number }).code !== ERR_QUEUE_FULL) throw error;
          // librdkafka's queue is full: let deliveries drain it.
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }
    return { delivered: done };
  }

  async close(): Promise<void> {
    try {
      await flush(this.#producer, 10_000);
    } finally {
      await disconnect(this.#producer);
    }
  }
}
