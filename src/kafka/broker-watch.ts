/**
 * Whether the Kafka brokers answer, for readiness and the metrics. librdkafka's own view lags:
 * a broker that stops answering (a stopped process, a network partition) keeps its TCP
 * connections, so the clients report it up until a request times out (`socket.timeout.ms`, a
 * minute) — and `isConnected()` only says the client was started. So a small metadata request
 * goes out every `intervalMs`; no answer within `timeoutMs` marks the brokers unreachable, the
 * next answer reachable again.
 */
import type Kafka from 'node-rdkafka';
import type { Logger } from '../log.js';
import { type Component, type GaugeTable, gaugesOf } from '../runtime/component.js';

/** How often the service asks the brokers for metadata, and how long an answer may take. */
export const BROKER_CHECK = { intervalMs: 2_000, timeoutMs: 5_000 } as const;

export interface BrokerWatchOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Called when reachability changes; `since` is when it was last the other way. */
  readonly onChange?: (reachable: boolean, since: number) => void;
}

/**
 * The device topics' partition count the service runs with: every device's owner is computed
 * from it (src/domain/device-partition.ts), so a count that changes under a running service would
 * give a device two owners. Each probe asks for `topic`'s count and calls `onChanged` when it differs.
 */
export interface WatchedPartitions {
  readonly topic: string;
  readonly expected: number;
  readonly onChanged: (count: number) => void;
}

/** The one call the watch makes (node-rdkafka's Producer and KafkaConsumer have it). */
export type MetadataClient = Pick<Kafka.Producer, 'getMetadata'>;

/** Logs each change of reachability: a warning when the brokers stop answering, then when they answer again. */
export function logReachability(
  log: Logger,
  brokers: string,
  timeoutMs: number,
): (reachable: boolean, since: number) => void {
  return (reachable, since) => {
    const seconds = Math.round((Date.now() - since) / 1000);
    if (reachable) log.info({ unreachableSeconds: seconds }, 'the Kafka brokers answer again');
    else
      log.warn(
        { brokers, timeoutMs },
        'the Kafka brokers do not answer: not ready until they do (nothing is lost meanwhile)',
      );
  };
}

export const BROKER_WATCH_GAUGES: GaugeTable<BrokerWatch> = [
  {
    name: 'kafka_connected',
    help: 'Whether the Kafka brokers answer: 1 when the last metadata request was answered in time, 0 when not',
    read: (watch) => (watch.reachable ? 1 : 0),
  },
];

export class BrokerWatch implements Component {
  readonly name = 'broker watch';
  readonly gauges = gaugesOf(BROKER_WATCH_GAUGES, this);
  readonly #client: MetadataClient;
  readonly #options: BrokerWatchOptions;
  #reachable = true;
  #changedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #probing: Promise<void> | undefined;
  #stopped = false;
  #partitions: WatchedPartitions | undefined;

  constructor(client: MetadataClient, options: BrokerWatchOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** The last metadata request was answered in time (true until the first one says otherwise). */
  get reachable(): boolean {
    return this.#reachable;
  }

  /** When `reachable` last changed (ms since epoch). */
  get changedAt(): number {
    return this.#changedAt;
  }

  start(): void {
    this.#schedule(0);
  }

  notReadyReason(): string | null {
    return this.#reachable
      ? null
      : `the Kafka brokers did not answer within ${this.#options.timeoutMs / 1000} s`;
  }

  /** From now on, each probe also checks the device topics' partition count. */
  watchPartitions(watched: WatchedPartitions): void {
    this.#partitions = watched;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#probing;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#probing = this.#probe().finally(() => this.#schedule(this.#options.intervalMs));
    }, delayMs);
    this.#timer.unref();
  }

  async #checkPartitions(): Promise<void> {
    const watched = this.#partitions;
    if (watched === undefined) return;
    const count = await new Promise<number>((resolve) =>
      this.#client.getMetadata({ topic: watched.topic, timeout: this.#options.timeoutMs }, (err, md) =>
        resolve(err ? 0 : (md.topics.find((t) => t.name === watched.topic)?.partitions.length ?? 0)),
      ),
    );
    if (count > 0 && count !== watched.expected) watched.onChanged(count);
  }

  async #probe(): Promise<void> {
    // No topic and not all topics: the brokers and the topics this client already knows.
    const answered = await new Promise<boolean>((resolve) =>
      this.#client.getMetadata({ allTopics: false, timeout: this.#options.timeoutMs }, (err) =>
        resolve(!err),
      ),
    );
    if (answered && !this.#stopped) await this.#checkPartitions();
    if (this.#stopped || answered === this.#reachable) return;
    const since = this.#changedAt;
    this.#reachable = answered;
    this.#changedAt = Date.now();
    this.#options.onChange?.(answered, since);
  }
}
