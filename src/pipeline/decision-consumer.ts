/**
 * KGD release decisions → the declaration index, a global table: every instance reads every
 * partition of the decisions topic into its own LMDB, remembering its position there (in the
 * same LMDB transaction as the index update, so a decision is applied exactly once per instance).
 *
 * A decision may settle requests waiting in this instance's partitions, or (revoked) withdraw
 * confirmations: for those, the same transaction queues `reevaluate` / `revoke` commands to the
 * partitions that own the devices, which decide them with the request pipeline's exactly-once
 * journal (rules 7 and 9).
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { dlqMessage } from '../domain/outputs.js';
import { parseReleaseDecision } from '../domain/release-decision.js';
import type { DeclarationEntry } from '../domain/types.js';
import { connect, consume, disconnect, getMetadata, type KafkaSettings } from '../kafka/client.js';
import type { DeliveringProducer } from '../kafka/delivering-producer.js';
import type { TopicLayout } from '../kafka/topics.js';
import type { Logger } from '../log.js';
import { applyApplicationDecision } from '../store/declarations.js';
import type { Store } from '../store/store.js';
import type { AddressedCommand, CommandBus } from './command-bus.js';
import type { PipelineObserver } from './observer.js';

export interface DecisionConsumerDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly store: Store;
  readonly producer: DeliveringProducer;
  readonly commandBus: CommandBus;
  readonly observer: PipelineObserver;
  readonly log: Logger;
  readonly layout: TopicLayout;
}

/** librdkafka's RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2;
const positionKey = (partition: number): string => `decisions/${partition}`;

export class DecisionConsumer {
  readonly #deps: DecisionConsumerDeps;
  #consumer: Kafka.KafkaConsumer | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #applied = 0;

  constructor(deps: DecisionConsumerDeps) {
    this.#deps = deps;
  }

  /** Decisions applied since start. */
  get applied(): number {
    return this.#applied;
  }

  get connected(): boolean {
    return this.#consumer?.isConnected() === true;
  }

  async start(): Promise<void> {
    const { config, kafka, store } = this.#deps;
    const topic = config.topics.decisions;
    const consumer = new Kafka.KafkaConsumer(
      {
        'bootstrap.servers': kafka.bootstrapServers,
        'client.id': `${kafka.clientId}-decisions`,
        // Positions live in LMDB; the group id only satisfies librdkafka.
        'group.id': `${config.kafka.groupId}.decisions`,
        'enable.auto.commit': false,
        'isolation.level': 'read_committed',
        'fetch.wait.max.ms': 10,
      },
      {},
    );
    await connect(consumer, 'decision consumer');
    consumer.setDefaultConsumeTimeout(50);
    const md = await getMetadata(consumer, topic);
    const partitions = md.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    consumer.assign(
      partitions.map((partition) => {
        const next = store.meta.get(positionKey(partition));
        return { topic, partition, offset: typeof next === 'number' ? next : OFFSET_BEGINNING };
      }),
    );
    this.#consumer = consumer;
    // Commands left in the outbox by a crash go out first.
    await this.#deps.commandBus.flush();
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        const messages = await consume(this.#consumer!, 500);
        if (messages.length > 0) await this.#handle(messages);
      } catch (error) {
        this.#deps.log.error({ err: error }, 'applying release decisions failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async #handle(messages: readonly Kafka.Message[]): Promise<void> {
    const { config, store, producer, commandBus, observer } = this.#deps;
    const at = new Date().toISOString();
    const parsed = messages.map((m) => ({ message: m, parsed: parseReleaseDecision(m.value) }));
    // DLQ entries first: if we crash after sending them and before the index update, the
    // decisions are read again and the entries are sent twice — never lost.
    const dlq = parsed.flatMap(({ message, parsed: p }) => {
      const error = !p.ok
        ? p.error
        : p.badImeis.length > 0
          ? `release decision lists invalid IMEIs: ${p.badImeis.join('; ')}`
          : undefined;
      if (error === undefined) return [];
      const key = message.key === undefined || message.key === null ? null : message.key.toString();
      const source = { topic: message.topic, partition: message.partition, offset: message.offset, key };
      return [
        {
          topic: config.topics.dlq,
          partition: message.partition % this.#deps.layout.partitions,
          key,
          value: Buffer.from(dlqMessage(source, message.value, error, at)),
        },
      ];
    });
    if (dlq.length > 0) await producer.send(dlq);
    observer.consumed(config.topics.decisions, messages.length);

    let queued = 0;
    await store.env.transaction(() => {
      const commands: AddressedCommand[] = [];
      for (const { message, parsed: p } of parsed) {
        store.meta.put(positionKey(message.partition), message.offset + 1);
        if (!p.ok) continue;
        const { decision } = p;
        const entry: DeclarationEntry = {
          applicationId: decision.applicationId,
          procedure: decision.procedure,
          status: decision.status,
          hsCode: decision.hsCode ?? null,
          decidedAt: new Date(decision.decidedAt).toISOString(),
          ...(decision.grounds === undefined ? {} : { grounds: decision.grounds }),
        };
        // A revocation may name no IMEIs: it withdraws everything the application listed.
        const bodies =
          decision.status === 'revoked' && p.bodies.length === 0
            ? [...store.applicationImeis.getValues(decision.applicationId)]
            : p.bodies;
        applyApplicationDecision(store, { entry, bodies });
        for (const body of bodies) {
          for (const pending of store.pending.get(body) ?? []) {
            commands.push({
              partition: pending.partition,
              command: { type: 'reevaluate', body, issuedAt: at },
            });
            break;
          }
          if (decision.status === 'revoked') {
            const registered = store.registry.get(body);
            if (registered !== undefined && registered.applicationId === decision.applicationId) {
              commands.push({
                partition: registered.partition,
                command: {
                  type: 'revoke',
                  body,
                  applicationId: decision.applicationId,
                  reason: `KGD revoked the release decision of application ${decision.applicationId}`,
                  issuedAt: at,
                },
              });
            }
          }
        }
        this.#applied++;
      }
      commandBus.queueInTransaction(commands);
      queued = commands.length;
    });
    if (queued > 0) await commandBus.flush();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#loop;
    if (this.#consumer !== undefined) await disconnect(this.#consumer);
  }
}
