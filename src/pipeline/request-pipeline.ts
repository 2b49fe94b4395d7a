/**
 * The request pipeline of one instance (Kafka Streams' stream thread): a consumer group on the
 * device topics (requests, the repartition topic, commands) and a fetch loop that only reads and
 * routes. Which partitions it owns, and what owning one takes, is the task manager's
 * (task-manager.ts), which the simulation drives the same way.
 *
 * Ownership changes with the eager protocol: on revoke, every task is fenced and drained (what it
 * handed to the producer delivered) before `unassign`, so no two owners ever publish to one
 * partition; on assign, each partition is recovered before `assign` starts fetching at its
 * journaled positions.
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { ImeiflowError } from '../errors.js';
import { connect, consume, consumerConfig, disconnect, type KafkaSettings } from '../kafka/client.js';
import { resultTopicsOf } from '../kafka/result-topics.js';
import { RetryBudget } from '../kafka/retry-budget.js';
import type { Logger } from '../log.js';
import { OUTPUT_ROLES } from '../pool/batch-contract.js';
import type { VerifyPool } from '../pool/verify-pool.js';
import { LOOP_TRANSITIONS, type LoopState, StateMachine } from '../runtime/state-machine.js';
import type { RecordVerifier } from '../security/signed-events.js';
import type { Store } from '../store/store.js';
import type { InputPositions } from './journal.js';
import type { OutputSink, PartitionLog } from './kafka-port.js';
import type { PipelineObserver } from './observer.js';
import { RecordCollector } from './record-collector.js';
import { type InputName, TaskManager } from './task-manager.js';

export interface RequestPipelineDeps {
  readonly config: Config;
  readonly kafka: KafkaSettings;
  readonly store: Store;
  readonly pool: VerifyPool;
  readonly producer: OutputSink;
  readonly reader: PartitionLog;
  readonly observer: PipelineObserver;
  readonly log: Logger;
  /** Partitions of the device topics. */
  readonly partitions: number;
  /** Called when the pipeline cannot go on safely; the process should exit and restart. */
  readonly onFatal: (error: Error) => void;
  /** The partitions this instance runs changed (after a rebalance). */
  readonly onOwnership?: (partitions: readonly number[]) => void;
  /** Checks each command's cluster-key signature: one without it is not carried out. */
  readonly verifier: RecordVerifier;
}

const COMMIT_HINT_INTERVAL_MS = 1000;
/** Failed polls in a row before the process stops (src/kafka/retry-budget.ts). */
const MAX_CONSUME_FAILURES = 50;

export class RequestPipeline {
  readonly #deps: RequestPipelineDeps;
  readonly #topics: Config['topics'];
  readonly #inputOf: ReadonlyMap<string, InputName>;
  readonly #manager: TaskManager;
  readonly #maxQueued: number;
  readonly #consumeFailures: RetryBudget;
  #consumer: Kafka.KafkaConsumer | undefined;
  readonly #lifecycle = new StateMachine<LoopState>('request pipeline', 'created', LOOP_TRANSITIONS);
  #loop: Promise<void> | undefined;
  #recovering: Promise<void> = Promise.resolve();
  #unassigning: Promise<void> = Promise.resolve();
  #lastHint = 0;

  constructor(deps: RequestPipelineDeps) {
    this.#deps = deps;
    const { topics } = deps.config;
    this.#topics = topics;
    this.#inputOf = new Map<string, InputName>([
      [topics.requests, 'requests'],
      [topics.repartition, 'repartition'],
      [topics.commands, 'commands'],
    ]);
    const { pool } = deps;
    this.#manager = new TaskManager({
      store: deps.store,
      log: deps.reader,
      sink: deps.producer,
      collector: new RecordCollector(
        deps.producer,
        OUTPUT_ROLES.map((role) => topics[role]),
        resultTopicsOf(deps.config, (count) => deps.observer.resultsUnrouted(count)),
      ),
      runner: {
        // Backpressure into the pool: wait for room instead of queueing without bound.
        run: async (task) => {
          while (pool.needsDrain) await new Promise((resolve) => pool.once('drain', resolve));
          return pool.run(task);
        },
      },
      observer: deps.observer,
      logger: deps.log,
      topics,
      partitions: deps.partitions,
      batchMaxMessages: deps.config.pipeline.batchMaxMessages,
      // Half of how long the changelogs keep a tombstone: margin for a slow restore.
      localStateMaxAgeMs: deps.config.retention.compactionLagMs / 2,
      committed: (partition) => this.#committedPositions(partition),
      onFatal: deps.onFatal,
      commandRefusal: (message) => {
        const verdict = deps.verifier.verify('commands', message);
        if (verdict.ok) return null;
        deps.observer.recordRefused(message.topic, verdict.problem);
        return verdict.problem;
      },
    });
    this.#maxQueued = deps.config.pipeline.batchMaxMessages * 8;
    this.#consumeFailures = new RetryBudget(
      'request consumer: consume',
      MAX_CONSUME_FAILURES,
      deps.log,
      deps.onFatal,
    );
  }

  /** Partitions this instance owns and runs. */
  get activePartitions(): number[] {
    return this.#manager.activePartitions;
  }

  /** Connected, through its first rebalance, and no partition still recovering. */
  get ready(): boolean {
    return this.#consumer?.isConnected() === true && this.#manager.ready;
  }

  get queuedMessages(): number {
    return this.#manager.queuedMessages;
  }

  /** The index changed: the owners of these devices and of requests naming these applications re-evaluate. */
  indexChanged(bodies: readonly string[], applications: readonly string[]): void {
    this.#manager.indexChanged(bodies, applications);
  }

  async start(): Promise<void> {
    const { config, kafka } = this.#deps;
    const consumer = new Kafka.KafkaConsumer(
      {
        ...consumerConfig(kafka, config.kafka.groupId),
        // Per-partition consumer lag for the metrics.
        'statistics.interval.ms': 5_000,
        rebalance_cb: (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) =>
          this.#onRebalance(err, assignment),
      },
      { 'auto.offset.reset': 'earliest' },
    );
    consumer.on('event.stats', (stats) => this.#deps.observer.kafkaStatistics(stats.message));
    consumer.on('event.error', (err) => this.#deps.log.warn({ err }, 'request consumer error'));
    await connect(consumer, 'request consumer');
    consumer.setDefaultConsumeTimeout(Math.max(5, config.pipeline.batchMaxWaitMs));
    consumer.subscribe([this.#topics.requests, this.#topics.repartition, this.#topics.commands]);
    this.#consumer = consumer;
    this.#lifecycle.to('running');
    this.#loop = this.#consumeLoop();
  }

  // ── the fetch loop: read, route, nothing else ────────────────────────────────────────────

  async #consumeLoop(): Promise<void> {
    const consumer = this.#consumer!;
    const max = this.#deps.config.pipeline.batchMaxMessages;
    while (this.#lifecycle.is('running')) {
      let messages: Kafka.Message[];
      try {
        messages = await consume(consumer, max);
        this.#consumeFailures.succeeded();
      } catch (error) {
        if (!this.#consumeFailures.failed(error)) return;
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (messages.length > 0) this.#route(messages);
      this.#commitHint();
      await this.#backpressure();
    }
  }

  #route(messages: readonly Kafka.Message[]): void {
    const counts = new Map<InputName, number>();
    for (const m of messages) {
      const input = this.#inputOf.get(m.topic);
      if (input === undefined || !this.#manager.route(input, m)) continue;
      counts.set(input, (counts.get(input) ?? 0) + 1);
    }
    for (const [input, count] of counts) this.#deps.observer.consumed(this.#topics[input], count);
    this.#manager.pump();
  }

  /**
   * Backpressure: while the partitions' queues hold `maxQueued` messages, stop polling until
   * they drain to half. librdkafka then stops fetching once its own bounded queue is full.
   * Not pause()/resume(): toggled often under load, librdkafka sometimes left a partition
   * paused for good (measured here: 500 000-request runs stalled with lag left on some
   * partitions; librdkafka issue 5591 describes the same symptom).
   */
  async #backpressure(): Promise<void> {
    if (this.queuedMessages < this.#maxQueued) return;
    while (this.#lifecycle.is('running') && this.queuedMessages > this.#maxQueued / 2) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Not the source of truth (the journal is): lets lag tooling see progress. */
  #commitHint(): void {
    const now = Date.now();
    if (now - this.#lastHint < COMMIT_HINT_INTERVAL_MS || this.#consumer === undefined) return;
    this.#lastHint = now;
    const offsets: Kafka.TopicPartitionOffset[] = [];
    for (const { partition, positions } of this.#manager.positions()) {
      for (const [topic, input] of this.#inputOf)
        offsets.push({ topic, partition, offset: positions[input] });
    }
    if (offsets.length === 0) return;
    try {
      this.#consumer.commit(offsets);
    } catch (error) {
      this.#deps.log.debug({ err: error }, 'offset commit hint failed');
    }
  }

  // ── partition ownership: the task manager's, on the group's word ─────────────────────────

  #onRebalance(err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]): void {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      const partitions = [...new Set(assignment.map((a) => a.partition))].sort((a, b) => a - b);
      this.#deps.log.info({ partitions }, 'partitions assigned; recovering');
      this.#recovering = this.#unassigning
        .then(async () => {
          const starts = await this.#manager.assign(partitions);
          if (starts === undefined) return; // superseded by a later rebalance
          consumer.assign(
            assignment.map((a) => ({
              topic: a.topic,
              partition: a.partition,
              offset: starts.get(a.partition)!.positions[this.#inputOf.get(a.topic)!],
            })),
          );
          this.#deps.log.info({ partitions }, 'partitions recovered; consuming');
          this.#deps.onOwnership?.(partitions);
        })
        .catch((error: unknown) =>
          this.#deps.onFatal(error instanceof Error ? error : new Error(String(error))),
        );
    } else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      this.#deps.log.info(
        { partitions: this.#manager.tasks.map((t) => t.partition) },
        'partitions revoked; fencing and finishing what was handed to the producer',
      );
      const recovering = this.#recovering;
      // Until every task has drained, the next owner must not start: unassign only then
      // (librdkafka holds the rebalance until we do).
      const revoked = this.#manager.revoke();
      this.#unassigning = recovering
        .catch(() => undefined)
        .then(() => revoked)
        .then(
          () => {
            try {
              consumer.unassign();
            } catch (error) {
              this.#deps.log.warn({ err: error }, 'unassign failed');
            }
          },
          (error: unknown) => this.#deps.onFatal(error instanceof Error ? error : new Error(String(error))),
        );
    } else {
      this.#deps.log.error({ err }, 'rebalance error');
    }
  }

  /** Where to start when the journal has nothing for a partition: the group's offsets, else the start. */
  async #committedPositions(partition: number): Promise<InputPositions> {
    const consumer = this.#consumer!;
    const inputs = [this.#topics.requests, this.#topics.repartition, this.#topics.commands];
    const committed = await new Promise<Kafka.TopicPartitionOffset[]>((resolve) =>
      consumer.committed(
        inputs.map((topic) => ({ topic, partition })),
        10_000,
        (err, tps) => resolve(err ? [] : tps),
      ),
    );
    const offsetOf = (topic: string): number => {
      const offset = committed.find((t) => t.topic === topic)?.offset;
      return typeof offset === 'number' && offset >= 0 ? offset : 0;
    };
    return {
      requests: offsetOf(this.#topics.requests),
      repartition: offsetOf(this.#topics.repartition),
      commands: offsetOf(this.#topics.commands),
    };
  }

  // ── shutdown ─────────────────────────────────────────────────────────────────────────────

  /** Stop fetching, fence and drain every task (up to the deadline), leave the group. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.#lifecycle.is('created')) return this.#lifecycle.to('stopped');
    if (!this.#lifecycle.is('running')) return;
    this.#lifecycle.to('stopping');
    await this.#loop;
    const finished = this.#recovering.catch(() => undefined).then(() => this.#manager.revoke());
    const timedOut = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), deadlineMs).unref()),
    ]);
    if (timedOut) {
      throw new ImeiflowError('SHUTDOWN_TIMEOUT', `in-flight batches did not finish within ${deadlineMs} ms`);
    }
    if (this.#consumer !== undefined) await disconnect(this.#consumer);
    this.#lifecycle.to('stopped');
  }
}
