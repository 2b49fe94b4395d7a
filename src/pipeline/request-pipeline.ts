/**
 * The request pipeline of one instance: a consumer group on the device topics (requests, the
 * repartition topic, commands), a fetch loop that only reads and routes, and the partitions this
 * instance owns, each a PartitionTask (Kafka Streams' stream thread and task manager).
 *
 * Ownership changes with the eager protocol: on revoke, every task drains (finishes its cycle,
 * stores its last batch, publishes everything journaled) before `unassign`, so no two owners
 * ever publish to one partition; on assign, each partition is recovered (recovery.ts) before
 * `assign` starts fetching at its journaled positions.
 */
import Kafka from 'node-rdkafka';
import type { Config } from '../config/config.js';
import { devicePartition } from '../domain/device-partition.js';
import { ImeiflowError } from '../errors.js';
import { connect, consume, consumerConfig, disconnect, type KafkaSettings } from '../kafka/client.js';
import { RetryBudget } from '../kafka/retry-budget.js';
import type { Logger } from '../log.js';
import { OUTPUT_ROLES } from '../pool/batch-contract.js';
import type { VerifyPool } from '../pool/verify-pool.js';
import type { Store } from '../store/store.js';
import { committed } from '../store/store-full.js';
import type { InputPositions } from './journal.js';
import type { LogMessage, OutputSink, PartitionLog } from './kafka-port.js';
import type { PipelineObserver } from './observer.js';
import { type BatchRunner, PartitionTask, type TaskStart } from './partition-task.js';
import { RecordCollector } from './record-collector.js';
import { recordCheckpoint, recoverPartition } from './recovery.js';

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
}

type Input = 'requests' | 'repartition' | 'commands';
const COMMIT_HINT_INTERVAL_MS = 1000;
/** Failed polls in a row before the process stops (src/kafka/retry-budget.ts). */
const MAX_CONSUME_FAILURES = 50;

export class RequestPipeline {
  readonly #deps: RequestPipelineDeps;
  readonly #topics: Config['topics'];
  readonly #inputOf: ReadonlyMap<string, Input>;
  readonly #collector: RecordCollector;
  readonly #runner: BatchRunner;
  readonly #tasks = new Map<number, PartitionTask>();
  readonly #maxQueued: number;
  readonly #consumeFailures: RetryBudget;
  #consumer: Kafka.KafkaConsumer | undefined;
  #generation = 0;
  #assignedOnce = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #recovering: Promise<void> = Promise.resolve();
  #unassigning: Promise<void> = Promise.resolve();
  #lastHint = 0;

  constructor(deps: RequestPipelineDeps) {
    this.#deps = deps;
    const { topics } = deps.config;
    this.#topics = topics;
    this.#inputOf = new Map<string, Input>([
      [topics.requests, 'requests'],
      [topics.repartition, 'repartition'],
      [topics.commands, 'commands'],
    ]);
    this.#collector = new RecordCollector(
      deps.producer,
      OUTPUT_ROLES.map((role) => topics[role]),
    );
    const { pool } = deps;
    this.#runner = {
      // Backpressure into the pool: wait for room instead of queueing without bound.
      run: async (task) => {
        while (pool.needsDrain) await new Promise((resolve) => pool.once('drain', resolve));
        return pool.run(task);
      },
    };
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
    return [...this.#tasks.values()].filter((t) => t.state === 'running').map((t) => t.partition);
  }

  /** Connected, through its first rebalance, and no partition still recovering. */
  get ready(): boolean {
    return (
      this.#consumer?.isConnected() === true &&
      this.#assignedOnce &&
      [...this.#tasks.values()].every((t) => t.state !== 'restoring')
    );
  }

  get queuedMessages(): number {
    let n = 0;
    for (const t of this.#tasks.values()) n += t.queued;
    return n;
  }

  /** The index changed: the owners of these devices and of requests naming these applications re-evaluate. */
  indexChanged(bodies: readonly string[], applications: readonly string[]): void {
    if (bodies.length === 0 && applications.length === 0) return;
    const byPartition = new Map<number, string[]>();
    for (const body of bodies) {
      const p = devicePartition(body, this.#deps.partitions);
      if (!this.#tasks.has(p)) continue;
      const list = byPartition.get(p);
      if (list === undefined) byPartition.set(p, [body]);
      else list.push(body);
    }
    for (const task of this.#tasks.values())
      task.markDirty(byPartition.get(task.partition) ?? [], applications);
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
    this.#loop = this.#consumeLoop();
  }

  // ── the fetch loop: read, route, nothing else ────────────────────────────────────────────

  async #consumeLoop(): Promise<void> {
    const consumer = this.#consumer!;
    const max = this.#deps.config.pipeline.batchMaxMessages;
    while (!this.#stopping) {
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
    let requests = 0;
    let forwarded = 0;
    let commands = 0;
    for (const m of messages) {
      const input = this.#inputOf.get(m.topic);
      const task = this.#tasks.get(m.partition);
      if (input === undefined || task === undefined || !task.push(input, m)) continue;
      if (input === 'requests') requests++;
      else if (input === 'repartition') forwarded++;
      else commands++;
    }
    const { observer } = this.#deps;
    if (requests > 0) observer.consumed(this.#topics.requests, requests);
    if (forwarded > 0) observer.consumed(this.#topics.repartition, forwarded);
    if (commands > 0) observer.consumed(this.#topics.commands, commands);
    for (const task of this.#tasks.values()) task.pump();
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
    while (!this.#stopping && this.queuedMessages > this.#maxQueued / 2) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Not the source of truth (the journal is): lets lag tooling see progress. */
  #commitHint(): void {
    const now = Date.now();
    if (now - this.#lastHint < COMMIT_HINT_INTERVAL_MS || this.#consumer === undefined) return;
    this.#lastHint = now;
    const offsets: Kafka.TopicPartitionOffset[] = [];
    for (const task of this.#tasks.values()) {
      if (task.state !== 'running') continue;
      const { requests, repartition, commands } = task.positions;
      offsets.push(
        { topic: this.#topics.requests, partition: task.partition, offset: requests },
        { topic: this.#topics.repartition, partition: task.partition, offset: repartition },
        { topic: this.#topics.commands, partition: task.partition, offset: commands },
      );
    }
    if (offsets.length === 0) return;
    try {
      this.#consumer.commit(offsets);
    } catch (error) {
      this.#deps.log.debug({ err: error }, 'offset commit hint failed');
    }
  }

  // ── partition ownership ──────────────────────────────────────────────────────────────────

  #newTask(partition: number): PartitionTask {
    const { config, store, producer, observer, onFatal } = this.#deps;
    return new PartitionTask(
      {
        partition,
        partitions: this.#deps.partitions,
        batchMaxMessages: config.pipeline.batchMaxMessages,
        journalTopic: this.#topics.journal,
      },
      {
        runner: this.#runner,
        sink: producer,
        collector: this.#collector,
        observer,
        checkpoint: (topic, next) => {
          const written = recordCheckpoint(store, partition, topic, next, Date.now());
          // A checkpoint that cannot be stored (a full disk) stops the process: a restart
          // restores from the last one stored, which only means reading more.
          if (written !== undefined)
            committed(written).catch((error: unknown) =>
              onFatal(error instanceof Error ? error : new Error(String(error))),
            );
        },
        onFatal,
      },
    );
  }

  #onRebalance(err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]): void {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
      const generation = ++this.#generation;
      const partitions = [...new Set(assignment.map((a) => a.partition))].sort((a, b) => a - b);
      this.#deps.log.info({ partitions }, 'partitions assigned; recovering');
      const tasks = partitions.map((partition) => {
        const task = this.#newTask(partition);
        this.#tasks.set(partition, task);
        return task;
      });
      this.#recovering = this.#unassigning
        .then(async () => {
          const starts: TaskStart[] = [];
          for (const task of tasks) {
            if (generation !== this.#generation) return;
            starts.push(await recoverPartition(this.#recoveryDeps(), task.partition));
          }
          if (generation !== this.#generation) return;
          consumer.assign(
            assignment.map((a) => {
              const start = starts[partitions.indexOf(a.partition)]!;
              return {
                topic: a.topic,
                partition: a.partition,
                offset: start.positions[this.#inputOf.get(a.topic)!],
              };
            }),
          );
          this.#assignedOnce = true;
          for (const [i, task] of tasks.entries()) task.start(starts[i]!);
          this.#deps.log.info({ partitions }, 'partitions recovered; consuming');
          this.#deps.onOwnership?.(partitions);
        })
        .catch((error: unknown) =>
          this.#deps.onFatal(error instanceof Error ? error : new Error(String(error))),
        );
    } else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
      this.#generation++;
      const tasks = [...this.#tasks.values()];
      this.#deps.log.info(
        { partitions: tasks.map((t) => t.partition) },
        'partitions revoked; finishing in-flight batches',
      );
      const recovering = this.#recovering;
      // Until every task has drained, the next owner must not start: unassign only then
      // (librdkafka holds the rebalance until we do).
      this.#unassigning = recovering
        .catch(() => undefined)
        .then(() => Promise.all(tasks.map((t) => t.drain())))
        .then(
          () => {
            for (const task of tasks)
              if (this.#tasks.get(task.partition) === task) this.#tasks.delete(task.partition);
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

  #recoveryDeps() {
    const { store, reader, producer, log, observer } = this.#deps;
    return {
      store,
      log: reader,
      sink: producer,
      collector: this.#collector,
      topics: this.#topics,
      logger: log,
      committed: (partition: number) => this.#committedPositions(partition),
      inputLost: (topic: string, count: number) => observer.inputLost(topic, count),
      skipped: (message: LogMessage, error: string) => {
        observer.recordSkipped(message.topic);
        log.warn(
          { topic: message.topic, partition: message.partition, offset: message.offset, error },
          'a record imeiflow does not write, passed while restoring',
        );
      },
      partitions: this.#deps.partitions,
      // Half of how long the changelogs keep a tombstone: margin for a slow restore.
      localStateMaxAgeMs: this.#deps.config.retention.compactionLagMs / 2,
    };
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

  /** Stop fetching, let every task drain (up to the deadline), leave the group. */
  async stop(deadlineMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#loop;
    const finished = this.#recovering
      .catch(() => undefined)
      .then(() => Promise.all([...this.#tasks.values()].map((t) => t.drain())));
    const timedOut = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), deadlineMs).unref()),
    ]);
    if (timedOut) {
      throw new ImeiflowError('SHUTDOWN_TIMEOUT', `in-flight batches did not finish within ${deadlineMs} ms`);
    }
    if (this.#consumer !== undefined) await disconnect(this.#consumer);
  }
}
