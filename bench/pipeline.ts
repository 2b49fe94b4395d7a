/**
 * bench/pipeline: end to end through Kafka, seven contenders in one run on one broker (the
 * embedded cluster in its own process), each with its own topics:
 *   1. passthrough — node-rdkafka consume → produce the same bytes: the ceiling;
 *   2. equal_io    — the floor of DESIGN.md §6: parse each request, write its result and, for a
 *                    confirmable one, its confirmation; no lookups, no state (bench/lib/equal-io-passthrough.ts);
 *   3. minimal_verifier — equal_io plus the least state a verifier needs: one LMDB lookup and one
 *                    outcome record per request, one write transaction and one journal message per
 *                    batch, outputs once the journal has them, one thread
 *                    (bench/lib/equal-io-passthrough.ts --state);
 *   4. sealed_minimal_verifier — the minimal verifier that also seals each outcome's owner and
 *                    phone under its owner-and-device key and the journal message with the topic
 *                    key, with imeiflow's own sealing code (--state --sealed): what issue 22's
 *                    crypto-shredding costs any verifier. Informative: the targets stay against 3;
 *   5. imeiflow    — the real service (`imeiflow run`), index of `--declared` IMEIs, and again
 *                    with requests keyed by the full IMEI (imeiflow_imei_keys, below);
 *   6. kafkajs     — KafkaJS eachBatch with the same verification code inline and Map indexes.
 * Three runs per contender:
 *   - backlog: `--backlog` requests produced before the contender starts, drained; the rate is
 *     taken from the output messages' own timestamps (first to last), so start-up is not in it;
 *   - full: `--messages` requests streamed keeping at most `--window` unanswered (the embedded
 *     cluster keeps ~5 MB per partition);
 *   - half: streamed at half the full rate, for latency (request timestamp → result timestamp).
 * Streamed runs follow an untimed warm-up (2 000 requests at full speed, `--warmup-seconds` at
 * half load). CPU per request is the contender process's user + system time over all its threads
 * (/proc/<pid>/stat) during a run, divided by the requests of the run; the broker's is printed too.
 * Requests are keyed by their IMEI's 14-digit body and partitioned with murmur2, as the README
 * tells operators to, so no request needs re-keying; imeiflow runs a second time
 * (`imeiflow_imei_keys`) with requests keyed by the full IMEI as sent and librdkafka's default
 * partitioner, as many operators' producers will send them: most then take the re-keying hop.
 * `--mix 75/5/3/2/15` sets the shares of confirmable, bad check digit, unknown TAC, blocked and
 * waiting requests (default 85/5/3/2/5).
 *
 *   node dist/bench/pipeline.js [--messages 500000] [--backlog 100000] [--declared 1000000] [--mix 85/5/3/2/5]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Kafka from 'node-rdkafka';
import { DEFAULT_MIX, ensureBenchIndex, mixText, parseMix, requestAt } from './lib/dataset.js';
import { type BrokerProcess, startBroker, startService, TestProducer, uniqueTopics } from './lib/harness.js';
import { type IoBytes, ioBytes, kbPerRequest } from './lib/proc-io.js';
import { emit, note, numberArg } from './lib/report.js';
import { copyBenchIndex } from './lib/store-copy.js';

const messages = numberArg('messages', 500_000);
const backlog = numberArg('backlog', 100_000);
const declared = numberArg('declared', 1_000_000);
const windowSize = numberArg('window', 40_000);
const halfLoadSeconds = numberArg('half-seconds', 15);
/** Untimed requests before each timed run, at the run's own rate: JIT, caches, group settled. */
const warmupSeconds = numberArg('warmup-seconds', 3);
/** `--only imeiflow,kafkajs`: run a subset (the ratios need them all). */
const only = ((): string[] | undefined => {
  const i = process.argv.indexOf('--only');
  return i === -1 ? undefined : (process.argv[i + 1] ?? '').split(',');
})();
const HERE = fileURLToPath(new URL('.', import.meta.url));
const mix = (() => {
  const i = process.argv.indexOf('--mix');
  if (i === -1) return DEFAULT_MIX;
  const parsed = parseMix(process.argv[i + 1] ?? '');
  if (parsed instanceof Error) throw parsed;
  return parsed;
})();

interface Running {
  readonly pid: number;
  stop(): Promise<void>;
  /** imeiflow's /metrics text, for where a batch's time goes. */
  metrics?(): Promise<string>;
}

type ContenderName =
  | 'passthrough'
  | 'equal_io'
  | 'minimal_verifier'
  | 'sealed_minimal_verifier'
  | 'imeiflow'
  | 'imeiflow_imei_keys'
  | 'kafkajs';

/**
 * How requests are keyed: `body`, the 14-digit IMEI body with murmur2 (the README's advice: no
 * re-keying); `imei`, the IMEI as sent with librdkafka's default partitioner (consistent_random,
 * CRC32), as many operators' producers send them: most requests take the re-keying hop.
 */
type KeyMode = 'body' | 'imei';

interface Contender {
  readonly name: ContenderName;
  readonly keys?: KeyMode;
  start(bootstrap: string, topics: Record<string, string>, env: Record<string, string>): Promise<Running>;
}

function forked(script: string, args: string[]): Running {
  const child: ChildProcess = fork(join(HERE, 'lib', script), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** What a processing contender is told: the broker, its input, its two outputs and its group. */
function processorArgs(bootstrap: string, topics: Record<string, string>): string[] {
  return [
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
  ];
}

let baseDataDir = '';

/** A fresh copy of the index: a contender with state writes it next to the index. */
function indexCopy(): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'imeiflow-bench-'));
  copyBenchIndex(baseDataDir, dataDir);
  return dataDir;
}

/** The real service on a fresh copy of the index. */
async function startImeiflow(
  bootstrap: string,
  _topics: Record<string, string>,
  env: Record<string, string>,
): Promise<Running> {
  const dataDir = indexCopy();
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
    pid: service.child.pid!,
    metrics: async () => (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text(),
    stop: async () => {
      await service.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The minimal verifier (bench/lib/equal-io-passthrough.ts --state) on a fresh copy of the index. */
function minimalVerifier(extra: readonly string[]): Contender['start'] {
  return async (bootstrap, topics) => {
    const dataDir = indexCopy();
    const running = forked('equal-io-passthrough.js', [
      ...processorArgs(bootstrap, topics),
      '--state',
      dataDir,
      '--journal',
      topics['journal']!,
      ...extra,
    ]);
    return {
      pid: running.pid,
      stop: async () => {
        await running.stop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  };
}

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
    name: 'equal_io',
    start: async (bootstrap, topics) => forked('equal-io-passthrough.js', processorArgs(bootstrap, topics)),
  },
  { name: 'minimal_verifier', start: minimalVerifier([]) },
  { name: 'sealed_minimal_verifier', start: minimalVerifier(['--sealed']) },
  { name: 'imeiflow', start: startImeiflow },
  { name: 'imeiflow_imei_keys', keys: 'imei', start: startImeiflow },
  {
    name: 'kafkajs',
    start: async (bootstrap, topics) =>
      forked('kafkajs-peer.js', [...processorArgs(bootstrap, topics), '--declared', String(declared)]),
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
  /** The first and last answer's own timestamps (when the contender produced them). */
  firstOutputAt = Number.POSITIVE_INFINITY;
  lastOutputAt = 0;
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

  /** `topics`: every topic an answer may be on (the shared results topic and each operator's). */
  static async start(
    bootstrap: string,
    topics: readonly string[],
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
    for (const topic of topics)
      await new Promise<void>((resolve) => consumer.getMetadata({ topic, timeout: 5000 }, () => resolve()));
    consumer.setDefaultConsumeTimeout(20);
    consumer.assign(
      topics.flatMap((topic) => [0, 1, 2, 3].map((partition) => ({ topic, partition, offset: 0 }))),
    );
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
        const at = m.timestamp ?? now;
        this.latencies.push(at - this.produced[i]!);
        if (at < this.firstOutputAt) this.firstOutputAt = at;
        if (at > this.lastOutputAt) this.lastOutputAt = at;
      }
    }
  }

  async waitAll(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.answered < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.answered} of ${count} answered`);
      await new Promise((r) => setTimeout(r, 20));
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

function statSeconds(path: string): number {
  const stat = readFileSync(path, 'utf8');
  // Fields after the command name (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100;
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** User + system CPU seconds of a process, all its threads. */
function cpuSeconds(pid: number): number {
  return statSeconds(`/proc/${pid}/stat`);
}

/**
 * The same, by thread: the main thread (its tid is the pid), librdkafka's threads (named
 * `rdk:…`), and the rest (worker threads, V8's and libuv's). Threads that ended are not counted.
 */
function cpuByThread(pid: number): { main: number; kafka: number; other: number } {
  const split = { main: 0, kafka: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const seconds = statSeconds(`/proc/${pid}/task/${tid}/stat`);
      if (tid === String(pid)) split.main += seconds;
      else if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith('rdk:'))
        split.kafka += seconds;
      else split.other += seconds;
    } catch {
      // The thread ended while we looked.
    }
  }
  return split;
}

interface RunFigures {
  readonly messages: number;
  readonly per_second: number;
  readonly latency_ms: { p50: number; p99: number; max: number };
  /**
   * CPU time per request: the contender's process (all threads; and split into its main thread,
   * librdkafka's threads and the others — worker threads, V8, libuv), and the broker's.
   */
  readonly cpu_us_per_request: {
    contender: number;
    broker: number;
    main: number;
    kafka_threads: number;
    other_threads: number;
  };
  /**
   * KB the contender's process sent to storage per request (bench/lib/proc-io.ts; its write calls
   * are not given: they count its Kafka sockets too).
   */
  readonly storage_kb_per_request?: number;
  /**
   * imeiflow's batches while timed, from its own histograms: how many, their mean size, the mean
   * worker task (queueing, the previous batch's state committed, this one decided) and the mean
   * journal append (the window's wait and the append) — where a request's latency goes.
   */
  readonly batches?: BatchFigures;
}

interface BatchFigures {
  readonly count: number;
  readonly size_mean: number;
  readonly worker_task_ms: number;
  readonly journal_append_ms: number;
}

/** A histogram's sum and count in Prometheus text. */
function sumAndCount(text: string, name: string): [number, number] {
  const value = (suffix: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`imeiflow_${name}_${suffix} `));
    return line === undefined ? 0 : Number(line.slice(line.indexOf(' ') + 1));
  };
  return [value('sum'), value('count')];
}

/** The batches between two /metrics texts (RunFigures.batches). */
function batchesBetween(before: string, after: string): BatchFigures {
  const delta = (name: string): [number, number] => {
    const [s0, c0] = sumAndCount(before, name);
    const [s1, c1] = sumAndCount(after, name);
    return [s1 - s0, c1 - c0];
  };
  const [sizes, count] = delta('batch_size');
  const [task, tasks] = delta('worker_task_duration_seconds');
  const [journal, appends] = delta('journal_append_duration_seconds');
  const mean = (sum: number, n: number, scale: number) =>
    n === 0 ? 0 : Math.round((sum / n) * scale * 10) / 10;
  return {
    count,
    size_mean: mean(sizes, count, 1),
    worker_task_ms: mean(task, tasks, 1000),
    journal_append_ms: mean(journal, appends, 1000),
  };
}

/** The key a request is sent with (README, "Keys"). */
function keyOf(imei: string, keys: KeyMode): string {
  return keys === 'body' ? imei.replace(/\D/g, '').slice(0, 14) : imei;
}

function produceRequests(
  producer: TestProducer,
  counter: AnswerCounter,
  topic: string,
  from: number,
  to: number,
  runId: string,
  keys: KeyMode,
): void {
  for (let i = from; i < to; i++) {
    const request = requestAt(i, declared, runId, mix);
    counter.produced[i] = Date.now();
    producer.sendJson(topic, keyOf(request.imei, keys), request);
  }
}

/** Stream `count` requests (at `rate`/s if given) and wait for every answer. */
async function drive(
  producer: TestProducer,
  counter: AnswerCounter,
  topic: string,
  count: number,
  runId: string,
  rate: number | undefined,
  keys: KeyMode,
): Promise<Omit<RunFigures, 'cpu_us_per_request'>> {
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    while (i - counter.answered >= windowSize) await new Promise((r) => setTimeout(r, 2));
    if (rate !== undefined) {
      const due = started + (i / rate) * 1000;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    }
    produceRequests(producer, counter, topic, i, i + 1, runId, keys);
    if ((i & 1023) === 0) await new Promise((r) => setImmediate(r));
  }
  await producer.flush();
  await counter.waitAll(count, 300_000);
  const seconds = (counter.lastAnswerAt - started) / 1000;
  return { messages: count, per_second: Math.round(count / seconds), latency_ms: latencies(counter) };
}

function latencies(counter: AnswerCounter): RunFigures['latency_ms'] {
  const sorted = [...counter.latencies].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? 0,
  };
}

interface CpuSnapshot {
  readonly contender: number;
  readonly broker: number;
  readonly threads: { main: number; kafka: number; other: number };
  readonly io: IoBytes | undefined;
}

function cpuSnapshot(pids: { contender: number; broker: number }): CpuSnapshot {
  return {
    contender: cpuSeconds(pids.contender),
    broker: cpuSeconds(pids.broker),
    threads: cpuByThread(pids.contender),
    io: ioBytes(pids.contender),
  };
}

/** RunFigures.storage_kb_per_request since `before`, when /proc says. */
function storagePerRequest(
  before: CpuSnapshot,
  pid: number,
  count: number,
): { storage_kb_per_request?: number } {
  const written = kbPerRequest(before.io, ioBytes(pid), count);
  return written === undefined ? {} : { storage_kb_per_request: written.storage };
}

function cpuPerRequest(
  before: CpuSnapshot,
  pids: { contender: number; broker: number },
  count: number,
): RunFigures['cpu_us_per_request'] {
  const per = (seconds: number): number => Math.round((seconds / count) * 1e6 * 10) / 10;
  const after = cpuSnapshot(pids);
  return {
    contender: per(after.contender - before.contender),
    broker: per(after.broker - before.broker),
    main: per(after.threads.main - before.threads.main),
    kafka_threads: per(after.threads.kafka - before.threads.kafka),
    other_threads: per(after.threads.other - before.threads.other),
  };
}

type Mode = { kind: 'backlog' } | { kind: 'stream'; rate: number | undefined };

async function measure(
  broker: BrokerProcess,
  contender: Contender,
  count: number,
  mode: Mode,
  label: string,
): Promise<RunFigures> {
  const { env, topics, operatorResults } = uniqueTopics(`bench-${contender.name}-${label}-${Date.now()}`);
  const answers = [topics['results']!, ...operatorResults.map(({ topic }) => topic)];
  const runId = `${contender.name}-${label}`;
  const counter = await AnswerCounter.start(broker.bootstrap, answers, count, `${runId}-run-`);
  const keys = contender.keys ?? 'body';
  const producer = await TestProducer.connect(
    broker.bootstrap,
    keys === 'body' ? { partitioner: 'murmur2_random' } : {},
  );
  // Create the input topic before the contender subscribes to it.
  producer.send(topics['requests']!, 'touch', null);
  await producer.flush();
  if (mode.kind === 'backlog') {
    produceRequests(producer, counter, topics['requests']!, 0, count, `${runId}-run`, keys);
    await producer.flush();
  }
  const running = await contender.start(broker.bootstrap, topics, env);
  const pids = { contender: running.pid, broker: broker.pid };
  try {
    if (mode.kind === 'backlog') {
      const before = cpuSnapshot(pids);
      await counter.waitAll(count, 600_000);
      const seconds = (counter.lastOutputAt - counter.firstOutputAt) / 1000;
      return {
        messages: count,
        per_second: Math.round(count / seconds),
        latency_ms: latencies(counter),
        cpu_us_per_request: cpuPerRequest(before, pids, count),
        ...storagePerRequest(before, pids.contender, count),
      };
    }
    // Let the consumer group settle and the code warm up before timing: the warm-up requests
    // must all come back first.
    const warmCount =
      mode.rate === undefined ? Math.min(2000, count) : Math.max(200, Math.round(mode.rate * warmupSeconds));
    const warmCounter = await AnswerCounter.start(broker.bootstrap, answers, warmCount, `${runId}-warm-`);
    try {
      await drive(producer, warmCounter, topics['requests']!, warmCount, `${runId}-warm`, mode.rate, keys);
    } finally {
      await warmCounter.stop();
    }
    const before = cpuSnapshot(pids);
    const metricsBefore = await running.metrics?.();
    const figures = await drive(
      producer,
      counter,
      topics['requests']!,
      count,
      `${runId}-run`,
      mode.rate,
      keys,
    );
    const cpu = cpuPerRequest(before, pids, count);
    const storage = storagePerRequest(before, pids.contender, count);
    const metricsAfter = await running.metrics?.();
    const batches =
      metricsBefore === undefined || metricsAfter === undefined
        ? {}
        : { batches: batchesBetween(metricsBefore, metricsAfter) };
    return { ...figures, cpu_us_per_request: cpu, ...storage, ...batches };
  } finally {
    await running.stop();
    await producer.close();
    await counter.stop();
  }
}

const ratio = (a: number | undefined, b: number | undefined): number =>
  Number(((a ?? Number.NaN) / (b ?? Number.NaN)).toFixed(3));

async function main(): Promise<void> {
  baseDataDir = await ensureBenchIndex('pipeline', declared);
  const broker = await startBroker();
  const drained: Record<string, RunFigures> = {};
  const full: Record<string, RunFigures> = {};
  const half: Record<string, RunFigures> = {};
  try {
    const selected = CONTENDERS.filter((c) => only === undefined || only.includes(c.name));
    for (const contender of selected) {
      if (backlog > 0) {
        note(`${contender.name}: a backlog of ${backlog} requests`);
        drained[contender.name] = await measure(broker, contender, backlog, { kind: 'backlog' }, 'backlog');
        note(`${contender.name}: ${JSON.stringify(drained[contender.name])}`);
      }
      note(`${contender.name}: ${messages} requests streamed at full speed`);
      full[contender.name] = await measure(
        broker,
        contender,
        messages,
        { kind: 'stream', rate: undefined },
        'full',
      );
      note(`${contender.name}: ${JSON.stringify(full[contender.name])}`);
    }
    for (const contender of selected) {
      const rate = Math.max(100, Math.round(full[contender.name]!.per_second / 2));
      const count = Math.min(messages, rate * halfLoadSeconds);
      note(`${contender.name}: ${count} requests at half load (${rate}/s)`);
      half[contender.name] = await measure(broker, contender, count, { kind: 'stream', rate }, 'half');
      note(`${contender.name}: ${JSON.stringify(half[contender.name])}`);
    }
  } finally {
    await broker.stop();
  }
  const rate = (runs: Record<string, RunFigures>, name: ContenderName): number | undefined =>
    runs[name]?.per_second;
  const cpu = (runs: Record<string, RunFigures>, name: ContenderName): number | undefined =>
    runs[name]?.cpu_us_per_request.contender;
  /** A's figure over B's, in the backlog drain and streamed. */
  const versus = (
    figure: (runs: Record<string, RunFigures>, name: ContenderName) => number | undefined,
    a: ContenderName,
    b: ContenderName,
  ): { backlog: number; streamed: number } => ({
    backlog: ratio(figure(drained, a), figure(drained, b)),
    streamed: ratio(figure(full, a), figure(full, b)),
  });
  const efficiency = versus(rate, 'imeiflow', 'equal_io');
  const vsKafkajs = ratio(rate(full, 'imeiflow'), rate(full, 'kafkajs'));
  // How near the equal-I/O floor a verifier with state comes at all, and imeiflow of that.
  const minimalEfficiency = versus(rate, 'minimal_verifier', 'equal_io');
  const vsMinimal = versus(rate, 'imeiflow', 'minimal_verifier');
  const vsMinimalImeiKeys = versus(rate, 'imeiflow_imei_keys', 'minimal_verifier');
  // What the re-keying hop costs: imeiflow with keys as operators send them over body keys.
  const hopCost = versus(rate, 'imeiflow_imei_keys', 'imeiflow');
  const cpuVsMinimal = versus(cpu, 'imeiflow', 'minimal_verifier');
  // Informative: what sealing costs a verifier, and imeiflow against a verifier that seals too.
  const sealedVsMinimal = versus(rate, 'sealed_minimal_verifier', 'minimal_verifier');
  const vsSealed = versus(rate, 'imeiflow', 'sealed_minimal_verifier');
  const vsSealedImeiKeys = versus(rate, 'imeiflow_imei_keys', 'sealed_minimal_verifier');
  const cpuVsSealed = versus(cpu, 'imeiflow', 'sealed_minimal_verifier');
  const p99 = half['imeiflow']?.latency_ms.p99 ?? Number.POSITIVE_INFINITY;
  // DESIGN.md §6.
  const targets = {
    imeiflow_vs_minimal_verifier: 0.85,
    hop_cost: 0.75,
    cpu_vs_minimal_verifier: 1.3,
    vs_kafkajs: 1.5,
    p99_half_load_ms: 50,
  };
  emit(
    'pipeline',
    {
      messages,
      backlog,
      declared_imeis: declared,
      window: windowSize,
      warmup_seconds: warmupSeconds,
      mix: mixText(mix),
      partitions: 4,
      broker: 'embedded (own process)',
      keys: 'imeiflow and the others: 14-digit IMEI body, murmur2; imeiflow_imei_keys: the IMEI as sent, librdkafka default partitioner',
    },
    {
      backlog: drained,
      full_load: full,
      half_load: half,
      efficiency_equal_io: efficiency,
      efficiency_raw_passthrough: ratio(rate(full, 'imeiflow'), rate(full, 'passthrough')),
      minimal_verifier_vs_equal_io: minimalEfficiency,
      imeiflow_vs_minimal_verifier: { body_keys: vsMinimal, imei_keys: vsMinimalImeiKeys },
      hop_cost: hopCost,
      cpu_vs_minimal_verifier: cpuVsMinimal,
      sealed_minimal_verifier_vs_minimal_verifier: sealedVsMinimal,
      imeiflow_vs_sealed_minimal_verifier: { body_keys: vsSealed, imei_keys: vsSealedImeiKeys },
      cpu_vs_sealed_minimal_verifier: cpuVsSealed,
      vs_kafkajs: vsKafkajs,
      targets,
      targets_met: {
        imeiflow_vs_minimal_verifier:
          vsMinimal.backlog >= targets.imeiflow_vs_minimal_verifier &&
          vsMinimal.streamed >= targets.imeiflow_vs_minimal_verifier,
        hop_cost: hopCost.backlog >= targets.hop_cost && hopCost.streamed >= targets.hop_cost,
        cpu_vs_minimal_verifier:
          cpuVsMinimal.backlog <= targets.cpu_vs_minimal_verifier &&
          cpuVsMinimal.streamed <= targets.cpu_vs_minimal_verifier,
        vs_kafkajs: vsKafkajs >= targets.vs_kafkajs,
        p99_half_load: p99 <= targets.p99_half_load_ms,
      },
    },
  );
}

await main();
