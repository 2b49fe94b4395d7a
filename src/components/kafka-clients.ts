/**
 * The service's two shared Kafka clients as components: the producer every output goes through
 * (its gauge: messages handed to it and not yet delivered), and the partition reader that reads
 * journals, changelogs and the audit topic at given positions.
 */
import type { KafkaSettings } from '../kafka/client.js';
import { DeliveringProducer } from '../kafka/delivering-producer.js';
import { PartitionReader } from '../kafka/partition-reader.js';
import { type Component, type Gauge, type GaugeTable, gaugesOf, started } from '../runtime/component.js';

export const PRODUCER_GAUGES: GaugeTable<DeliveringProducer> = [
  {
    name: 'producer_queue_depth',
    help: 'Messages handed to the Kafka producer and not yet delivered',
    read: (producer) => producer.queued,
  },
];

export class ProducerClient implements Component {
  readonly name = 'producer';
  readonly #settings: KafkaSettings;
  #producer: DeliveringProducer | undefined;

  constructor(settings: KafkaSettings) {
    this.#settings = settings;
  }

  async start(): Promise<void> {
    this.#producer = await DeliveringProducer.connect(this.#settings, 'producer');
  }

  async stop(): Promise<void> {
    await this.#producer?.close();
  }

  get producer(): DeliveringProducer {
    return started(this.#producer, this.name);
  }

  get gauges(): readonly Gauge[] {
    return gaugesOf(PRODUCER_GAUGES, this.producer);
  }
}

export class ReaderClient implements Component {
  readonly name = 'partition reader';
  readonly #settings: KafkaSettings;
  readonly #groupId: string;
  #reader: PartitionReader | undefined;

  constructor(settings: KafkaSettings, groupId: string) {
    this.#settings = settings;
    this.#groupId = groupId;
  }

  async start(): Promise<void> {
    this.#reader = await PartitionReader.connect(this.#settings, this.#groupId);
  }

  async stop(): Promise<void> {
    await this.#reader?.close();
  }

  get reader(): PartitionReader {
    return started(this.#reader, this.name);
  }
}
