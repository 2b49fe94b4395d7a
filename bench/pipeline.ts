/**
 * bench/pipeline: end to end through Kafka, three contenders in one run on one broker (the
 * embedded cluster in its own process), each with its own topics:
 *   1. passthrough — node-rdkafka consume → produce, no verification: the ceiling;
 *   2. imeiflow    — the real service (`imeiflow run`), index of `--declared` IMEIs;
 *   3. kafkajs     — KafkaJS eachBatch with the same verification code inline and Map indexes.
 * The driver streams `--messages` requests (the mix of bench/lib/dataset.ts) keeping at most
 * `--window` unanswered (the embedded cluster keeps ~5 MB per partition), and counts answers on
 * each contender's output topic. Then each runs again at half its measured rate for latency.
 * Each timed run follows an untimed warm-up (2 000 requests at full speed, `--warmup-seconds`
 * at half load).
 *
 *   node dist/bench/pipeline.js [--messages 500000] [--declared 1000000] [--record]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Kafka from 'node-rdkafka';
import { ensureBenchIndex, requestAt } from './lib/dataset.js';
import { type BrokerProcess, startBroker, startService, TestProducer, uniqueTopics } from './lib/harness.js';
import { emit, note, numberArg } from './lib/report.js';

const messages = numberArg('messages', 500_000);
const declared = numberArg('declared', 1_000_000);
const windowSize = numberArg('window', 40_000);
const halfLoadSeconds = numberArg('half-seconds', 15);
/** Untimed requests before each timed run, at the run's own rate: JIT, caches, group settled. */
const warmupSeconds = numberArg('warmup-seconds', 3);
/** `--only imeiflow,kafkajs`: run a subset (the ratios need all three). */
const only = ((): string[] | undefined => {
  const i = process.argv.indexOf('--only');
  return i === -1 ? undefined : (process.argv[i + 1] ?? '').split(',');
})();
const HERE = fileURLToPath(new URL('.', import.meta.url));

interface Running {
  stop(): Promise<void>;
}

interface Contender {
  readonly name: 'passthrough' | 'imeiflow' | 'kafkajs';
  start(bootstrap: string, topics: Record<string, string>, env: Record<string, string>): Promise<Running>;
}

function forked(script: string, args: string[]): Running {
  const child: ChildProcess = fork(join(HERE, 'lib', script), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

let baseDataDir = '';

const CONTENDERS: readonly Contender[] = [
  {
    name: 'passthrough',
    start: async (bootstrap, topics) =>
      forked('passthrough.js', [
        '--brokers',
        bootstrap,
        '--in',
        topics['requests']!,
        '--out',
        topics['results']!,
        '--group',
        `${topics['requests']}.g`,
      ]),
  },
  {
    name: 'imeiflow',
    start: async (bootstrap, _topics, env) => {
      // A fresh copy of the index: the service writes its state next to it.
      const dataDir = mkdtempSync(join(tmpdir(), 'imeiflow-bench-'));
      cpSync(baseDataDir, dataDir, { recursive: true });
      const profile = process.env['IMEIFLOW_BENCH_PROFILE'];
      const service = await startService({
        bootstrap,
        dataDir,
        env: { ...env, IMEIFLOW_WORKERS: '', IMEIFLOW_LOG_LEVEL: 'warn' },
        // IMEIFLOW_BENCH_PROFILE=DIR: a CPU profile of the service's main thread.
        nodeArgs: profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`],
      });
      await service.waitReady(120_000);
      return {
        stop: async () => {
          await service.kill('SIGTERM');
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'kafkajs',
    start: async (bootstrap, topics) =>
      forked('kafkajs-peer.js', [
        '--brokers',
        bootstrap,
        '--in',
        topics['requests']!,
        '--results',
        topics['results']!,
        '--confirmations',
        topics['confirmations']!,
        '--group',
        `${topics['requests']}.g`,
        '--declared',
        String(declared),
      ]),
  },
];

/** Counts answers on the output topic, by requestId, with their latency. */
class AnswerCounter {
  readonly #consumer: Kafka.KafkaConsumer;
  readonly #seen: Uint8Array;
  readonly latencies: number[] = [];
  readonly produced: Float64Array;
  answered = 0;
  lastAnswerAt = 0;
  #running = true;
  readonly #loop: Promise<void>;

  constructor(
    consumer: Kafka.KafkaConsumer,
    count: number,
    readonly prefix: string,
  ) {
    this.#consumer = consumer;
    this.#seen = new Uint8Array(count);
    this.produced = new Float64Array(count);
    this.#loop = this.#run();
  }

  static async start(
    bootstrap: string,
    topic: string,
    count: number,
    prefix: string,
  ): Promise<AnswerCounter> {
    const consumer = new Kafka.KafkaConsumer(
      {
        'bootstrap.servers': bootstrap,
        'group.id': `counter-${Math.random()}`,
        'enable.auto.commit': false,
        'fetch.wait.max.ms': 5,
      },
      {},
    );
    await new Promise<void>((resolve, reject) =>
      consumer.connect({}, (err) => (err ? reject(err) : resolve())),
    );
    await new Promise<void>((resolve) => consumer.getMetadata({ topic, timeout: 5000 }, () => resolve()));
    consumer.setDefaultConsumeTimeout(20);
    consumer.assign([0, 1, 2, 3].map((partition) => ({ topic, partition, offset: 0 })));
    return new AnswerCounter(consumer, count, prefix);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const batch = await new Promise<Kafka.Message[]>((resolve) =>
        this.#consumer.consume(5000, (err, m) => resolve(err ? [] : m)),
      );
      const now = Date.now();
      for (const m of batch) {
        if (m.value === null) continue;
        const { requestId } = JSON.parse(m.value.toString()) as { requestId?: string };
        if (requestId === undefined || !requestId.startsWith(this.prefix)) continue;
        const i = Number(requestId.slice(this.prefix.length));
        if (this.#seen[i] === 1) continue;
        this.#seen[i] = 1;
        this.answered++;
        this.lastAnswerAt = now;
        // The output's own timestamp is when the contender produced it.
        this.latencies.push((m.timestamp ?? now) - this.produced[i]!);
      }
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await new Promise<void>((resolve) => this.#consumer.disconnect(() => resolve()));
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface RunFigures {
  readonly messages: number;
  readonly per_second: number;
  readonly latency_ms: { p50: number; p99: number; max: number };
}

/** Stream `count` requests (at `rate`/s if given) and wait for every answer. */
async function drive(
  producer: TestProducer,
  counter: AnswerCounter,
  topic: string,
  count: number,
  runId: string,
  rate: number | undefined,
): Promise<RunFigures> {
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    while (i - counter.answered >= windowSize) await new Promise((r) => setTimeout(r, 2));
    if (rate !== undefined) {
      const due = started + (i / rate) * 1000;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    const request = requestAt(i, declared, runId);
    counter.produced[i] = Date.now();
    producer.sendJson(topic, request.imei, request);
    if ((i & 1023) === 0) await new Promise((r) => setImmediate(r));
  }
  await producer.flush();
  const deadline = Date.now() + 300_000;
  while (counter.answered < count) {
    if (Date.now() > deadline) throw new Error(`only ${counter.answered} of ${count} answered`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (counter.lastAnswerAt - started) / 1000;
  const sorted = [...counter.latencies].sort((a, b) => a - b);
  return {
    messages: count,
    per_second: Math.round(count / seconds),
    latency_ms: {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? 0,
    },
  };
}

async function measure(
  broker: BrokerProcess,
  contender: Contender,
  count: number,
  rate: number | undefined,
  label: string,
): Promise<RunFigures> {
  const { env, topics } = uniqueTopics(`bench-${contender.name}-${label}-${Date.now()}`);
  const runId = `${contender.name}-${label}`;
  const warmCount =
    rate === undefined ? Math.min(2000, count) : Math.max(200, Math.round(rate * warmupSeconds));
  const warmCounter = await AnswerCounter.start(
    broker.bootstrap,
    topics['results']!,
    warmCount,
    `${runId}-warm-`,
  );
  const counter = await AnswerCounter.start(broker.bootstrap, topics['results']!, count, `${runId}-run-`);
  const producer = await TestProducer.connect(broker.bootstrap);
  // Create the input topic before the contender subscribes to it.
  producer.send(topics['requests']!, 'touch', null);
  await producer.flush();
  const running = await contender.start(broker.bootstrap, topics, env);
  try {
    // Let the consumer group settle and the code warm up before timing: the warm-up requests
    // must all come back first.
    await drive(producer, warmCounter, topics['requests']!, warmCount, `${runId}-warm`, rate);
    return await drive(producer, counter, topics['requests']!, count, `${runId}-run`, rate);
  } finally {
    await running.stop();
    await producer.close();
    await warmCounter.stop();
    await counter.stop();
  }
}

async function main(): Promise<void> {
  baseDataDir = await ensureBenchIndex('pipeline', declared);
  const broker = await startBroker();
  const full: Record<string, RunFigures> = {};
  const half: Record<string, RunFigures> = {};
  try {
    const selected = CONTENDERS.filter((c) => only === undefined || only.includes(c.name));
    for (const contender of selected) {
      note(`${contender.name}: ${messages} requests at full speed`);
      full[contender.name] = await measure(broker, contender, messages, undefined, 'full');
      note(`${contender.name}: ${JSON.stringify(full[contender.name])}`);
    }
    for (const contender of selected) {
      const rate = Math.max(100, Math.round(full[contender.name]!.per_second / 2));
      const count = Math.min(messages, rate * halfLoadSeconds);
      note(`${contender.name}: ${count} requests at half load (${rate}/s)`);
      half[contender.name] = await measure(broker, contender, count, rate, 'half');
      note(`${contender.name}: ${JSON.stringify(half[contender.name])}`);
    }
  } finally {
    await broker.stop();
  }
  const imeiflow = full['imeiflow']?.per_second ?? Number.NaN;
  const efficiency = imeiflow / (full['passthrough']?.per_second ?? Number.NaN);
  const vsKafkajs = imeiflow / (full['kafkajs']?.per_second ?? Number.NaN);
  emit(
    'pipeline',
    {
      messages,
      declared_imeis: declared,
      window: windowSize,
      warmup_seconds: warmupSeconds,
      mix: '85/5/3/2/5',
      partitions: 4,
      broker: 'embedded (own process)',
    },
    {
      full_load: full,
      half_load: half,
      efficiency: Number(efficiency.toFixed(3)),
      vs_kafkajs: Number(vsKafkajs.toFixed(2)),
      targets: { efficiency: 0.8, vs_kafkajs: 2, p99_half_load_ms: 50 },
      targets_met: {
        efficiency: efficiency >= 0.8,
        vs_kafkajs: vsKafkajs >= 2,
        p99_half_load: (half['imeiflow']?.latency_ms.p99 ?? Number.POSITIVE_INFINITY) <= 50,
      },
    },
  );
}

await main();
