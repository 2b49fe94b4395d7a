/**
 * The topics, created or checked at start, and the device topics' partition count, which must
 * be the one this instance's state was built with: every device's owner is computed from it, so
 * imeiflow stops rather than give a device two owners. A count that grew while the instance was
 * away is refused at start (recorded in LMDB on the first start); one that changes while it runs
 * stops it (the broker watch asks on every probe).
 */
import type { Config } from '../config/config.js';
import { ImeiflowError } from '../errors.js';
import type { BrokerWatch } from '../kafka/broker-watch.js';
import type { KafkaSettings } from '../kafka/client.js';
import type { DeliveringProducer } from '../kafka/delivering-producer.js';
import { ensureTopics } from '../kafka/topics.js';
import { type Component, started } from '../runtime/component.js';
import type { Store } from '../store/store.js';

/** LMDB meta key: the device topics' partition count this instance's state was built with. */
const PARTITIONS_KEY = 'layout/partitions';

export function partitionsChanged(topic: string, was: number, now: number): ImeiflowError {
  return new ImeiflowError(
    'PARTITIONS_CHANGED',
    `${topic} has ${now} partitions; this instance ran with ${was}. Every device's owner is computed from the partition count, so imeiflow stops rather than give a device two owners: put the count back, or see docs/operations.md, "Partitions"`,
  );
}

export interface TopicLayoutDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly embedded: boolean;
  readonly producer: DeliveringProducer;
  readonly store: Store;
  readonly brokers: BrokerWatch;
  readonly onFatal: (error: unknown) => void;
}

export class TopicLayout implements Component {
  readonly name = 'topics';
  readonly #deps: TopicLayoutDeps;
  #partitions: number | undefined;

  constructor(deps: TopicLayoutDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    const { config, kafka, embedded, producer, store, brokers, onFatal } = this.#deps;
    const topic = config.topics.requests;
    const { partitions } = await ensureTopics(producer.client, kafka, config, embedded);
    const recorded = store.meta.get(PARTITIONS_KEY);
    if (typeof recorded === 'number' && recorded !== partitions)
      throw partitionsChanged(topic, recorded, partitions);
    if (recorded === undefined) store.meta.putSync(PARTITIONS_KEY, partitions);
    brokers.watchPartitions({
      topic,
      expected: partitions,
      onChanged: (count) => onFatal(partitionsChanged(topic, partitions, count)),
    });
    this.#partitions = partitions;
  }

  stop(): void {}

  /** The device topics' partition count. */
  get partitions(): number {
    return started(this.#partitions, this.name);
  }
}
