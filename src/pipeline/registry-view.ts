/**
 * What БДИК holds for devices of partitions this instance does not own, so that
 * `GET /v1/devices/:imei` shows a device's registry entry the same on every instance. The owner
 * of a partition answers from its own registry (current with its last batch); for the others,
 * this view reads the registry's changelog — `bdik.confirmations` and `bdik.revocations` — of
 * exactly the partitions owned elsewhere, re-assigned whenever ownership changes, each from where
 * this instance last stopped. An instance that owns every partition reads nothing here.
 *
 * A confirmation and a revocation of one device are ordered by their position headers (the
 * journal's `<seq>.<idx>`, monotonic per partition whoever owned it): the later one wins.
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { registryEntryOfConfirmation } from '../domain/confirmation-reader.js';
import type { RegistryEntry } from '../domain/types.js';
import { connect, consume, type KafkaSettings, readerConfig } from '../kafka/client.js';
import { ConsumerLoop } from '../kafka/consumer-loop.js';
import { RetryBudget } from '../kafka/retry-budget.js';
import type { Logger } from '../log.js';
import type { Component } from '../runtime/component.js';
import { SealedWrites } from '../store/sealed-writes.js';
import type { Store } from '../store/store.js';
import { keyOf } from './kafka-port.js';
import { outputOrder } from './positions.js';

/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2;

function positionKey(topic: string, partition: number): string {
  return `view/${topic}/${partition}`;
}

/** Failed batches in a row before the process stops (src/kafka/retry-budget.ts). */
const MAX_FAILURES = 30;

export interface RegistryViewDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly store: Store;
  readonly log: Logger;
  readonly partitions: number;
  /** The view cannot go on (its loop failed too often): the process should exit and restart. */
  readonly onFatal: (error: Error) => void;
}

export class RegistryView implements Component {
  readonly name = 'registry view';
  readonly #deps: RegistryViewDeps;
  readonly #retries: RetryBudget;
  #consumer: Kafka.KafkaConsumer | undefined;
  #owned = new Set<number>();
  #assigned = false;
  readonly #loop = new ConsumerLoop('registry view');

  constructor(deps: RegistryViewDeps) {
    this.#deps = deps;
    this.#retries = new RetryBudget('registry view', MAX_FAILURES, deps.log, deps.onFatal);
  }

  /** The entry of a device of a partition owned elsewhere, as its owner published it. */
  entry(body: string): RegistryEntry | undefined {
    const value = this.#deps.store.registryView.get(body);
    return value === undefined || value.entry === null ? undefined : value.entry;
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    // Positions live in LMDB.
    const consumer = new Kafka.KafkaConsumer(
      readerConfig(kafka, { name: 'registry-view', groupId: config.kafka.groupId, fetchWaitMs: 50 }),
      { 'auto.offset.reset': 'earliest' },
    );
    await connect(consumer, 'registry view');
    consumer.setDefaultConsumeTimeout(100);
    this.#consumer = consumer;
    this.#loop.run(consumer, () => this.#run());
  }

  /** Ownership changed: read the partitions owned elsewhere, and only those. */
  owned(partitions: readonly number[]): void {
    this.#owned = new Set(partitions);
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    const { config, store } = this.#deps;
    store.env.resetReadTxn();
    const assignment: Kafka.Assignment[] = [];
    for (let partition = 0; partition < this.#deps.partitions; partition++) {
      if (this.#owned.has(partition)) continue;
      for (const topic of [config.topics.confirmations, config.topics.revocations]) {
        const next = store.meta.get(positionKey(topic, partition));
        assignment.push({ topic, partition, offset: typeof next === 'number' ? next : OFFSET_BEGINNING });
      }
    }
    if (this.#assigned) consumer.unassign();
    if (assignment.length > 0) consumer.assign(assignment);
    this.#assigned = assignment.length > 0;
  }

  async #run(): Promise<void> {
    while (this.#loop.running) {
      if (!this.#assigned) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      try {
        const messages = await consume(this.#consumer!, 1000);
        if (messages.length > 0) await this.#apply(messages);
        this.#retries.succeeded();
      } catch (error) {
        // Positions move with what they cover: going back to them loses nothing.
        if (!this.#retries.failed(error)) return;
        await new Promise((r) => setTimeout(r, 1000));
        this.owned([...this.#owned]);
      }
    }
  }

  async #apply(messages: readonly Kafka.Message[]): Promise<void> {
    const { config, store } = this.#deps;
    await store.env.transaction(() => {
      // Owners and phones sealed as they are stored (src/store/sealed-writes.ts).
      const writes = new SealedWrites(store);
      const next = new Map<string, number>();
      for (const m of messages) {
        next.set(`${m.topic}\u0000${m.partition}`, m.offset + 1);
        // A partition that came back to this instance is its own registry's again.
        if (this.#owned.has(m.partition)) continue;
        const imei = keyOf(m);
        if (imei === null || imei.length !== 15) continue;
        const body = imei.slice(0, 14);
        // Where it was decided: its owner's order of БДИК's record for the device.
        const order = outputOrder(m);
        const current = store.registryView.get(body);
        if (current !== undefined && current.order > order) continue;
        if (m.topic === config.topics.revocations || m.value === null) {
          writes.view(body, order, null);
        } else {
          try {
            writes.view(body, order, registryEntryOfConfirmation(m.value, m.partition));
          } catch (error) {
            this.#deps.log.warn(
              { topic: m.topic, partition: m.partition, offset: m.offset, err: error },
              'not a БДИК confirmation: not in the registry view',
            );
          }
        }
      }
      for (const [key, offset] of next) {
        const [topic = '', partition = '0'] = key.split('\u0000');
        store.meta.put(positionKey(topic, Number(partition)), offset);
      }
      writes.flush();
    });
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
  }
}
