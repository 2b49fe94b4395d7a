/**
 * Plumbing around real processes, shared by the integration tests and the benchmarks: the
 * embedded cluster in its own process (`imeiflow broker`), the service (`imeiflow run`), a
 * producer, and a collector that reads topics continuously from the start (the embedded
 * cluster keeps only ~5 MB per partition, so outputs must be read while they are produced).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Kafka from 'node-rdkafka';
import { loadConfig } from '../../src/config/config.js';
import { type OperatorTopic, operatorResultTopics } from '../../src/kafka/result-topics.js';
import { TOPIC_ROLE_NAMES, TOPIC_ROLES, type TopicRoleName } from '../../src/kafka/topic-roles.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { newClusterKeyFileText } from '../../src/security/cluster-key.js';
import { harnessKeyDirPrefix } from './harness-files.js';

const BIN = join(PACKAGE_ROOT, 'bin/imeiflow.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

export interface BrokerProcess {
  readonly bootstrap: string;
  readonly pid: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** `imeiflow broker` in a child process: survives the service being killed. */
export async function startBroker(): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [BIN, 'broker'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('broker did not start')), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { bootstrapServers: string }).bootstrapServers);
    });
    child.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
  });
  return { bootstrap, pid: child.pid!, child, stop: () => stopChild(child) };
}

/** Stops a child process and waits for its exit (SIGKILL after 30 s). */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

let clusterKeyFile: string | undefined;

/**
 * The cluster key the services and CLI runs of this process sign and verify the tokens and audit
 * topics with (src/security/cluster-key.ts: required with KAFKA_BROKERS set). Made once, removed
 * when the process exits, or by the test file's end (test/support/tmp.ts) where vitest ends the
 * process without an exit event.
 */
export function harnessClusterKeyFile(): string {
  if (clusterKeyFile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), harnessKeyDirPrefix()));
    const file = join(dir, 'cluster.key');
    writeFileSync(file, newClusterKeyFileText(), { mode: 0o600 });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    clusterKeyFile = file;
  }
  return clusterKeyFile;
}

/**
 * Topic names (every role of src/kafka/topic-roles.ts) and a group unique to one test, and the
 * cluster key, as environment overrides.
 */
export function uniqueTopics(prefix: string): {
  env: Record<string, string>;
  topics: Record<TopicRoleName, string>;
  /** Each operator's results topic (results.operators at its default), after which `topics.results` is shared. */
  operatorResults: readonly OperatorTopic[];
} {
  const topicPattern = `${prefix}.results.{operator}`;
  const env: Record<string, string> = {
    IMEIFLOW_KAFKA_GROUP: `${prefix}.group`,
    IMEIFLOW_CLUSTER_KEY_FILE: harnessClusterKeyFile(),
    IMEIFLOW_RESULTS_TOPIC_PATTERN: topicPattern,
  };
  const topics = {} as Record<TopicRoleName, string>;
  for (const role of TOPIC_ROLE_NAMES) {
    const name = `${prefix}.${role}`;
    env[TOPIC_ROLES[role].env] = name;
    topics[role] = name;
  }
  const { results } = loadConfig({ env: {} });
  return { env, topics, operatorResults: operatorResultTopics({ results: { ...results, topicPattern } }) };
}

export interface ServiceProcess {
  readonly port: number;
  readonly output: string[];
  readonly child: ChildProcess;
  waitReady(timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
  exited(): Promise<number | null>;
}

export async function startService(options: {
  bootstrap: string;
  dataDir: string;
  env?: Record<string, string>;
  /** Extra arguments for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /**
   * The most bytes the service may write to one file (RLIMIT_FSIZE, set by util-linux's
   * `prlimit`): its store cannot grow past it, as on a full disk.
   */
  fileSizeLimitBytes?: number;
}): Promise<ServiceProcess> {
  const port = await freePort();
  const node = [process.execPath, ...(options.nodeArgs ?? []), BIN, 'run'];
  const command =
    options.fileSizeLimitBytes === undefined
      ? node
      : ['prlimit', `--fsize=${options.fileSizeLimitBytes}`, ...node];
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      KAFKA_BROKERS: options.bootstrap,
      IMEIFLOW_DATA_DIR: options.dataDir,
      IMEIFLOW_HTTP_PORT: String(port),
      IMEIFLOW_HTTP_HOST: '127.0.0.1',
      IMEIFLOW_WORKERS: '1',
      IMEIFLOW_LOG_LEVEL: 'info',
      ...options.env,
    },
  });
  const output: string[] = [];
  // IMEIFLOW_SERVICE_LOG_DIR=DIR: also write each service's output to DIR/service-<pid>.log as it comes.
  const logDir = process.env['IMEIFLOW_SERVICE_LOG_DIR'];
  const live = logDir === undefined ? undefined : createWriteStream(join(logDir, `service-${child.pid}.log`));
  const keep = (line: string): void => {
    output.push(line);
    live?.write(`${line}\n`);
  };
  createInterface({ input: child.stdout! }).on('line', keep);
  createInterface({ input: child.stderr! }).on('line', keep);
  const exitCode = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    port,
    output,
    child,
    exited: () => exitCode,
    async waitReady(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null)
          throw new Error(`service exited (${child.exitCode}):\n${output.slice(-20).join('\n')}`);
        try {
          const response = await fetch(`http://127.0.0.1:${port}/readyz`);
          if (response.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`service not ready within ${timeoutMs} ms:\n${output.slice(-20).join('\n')}`);
    },
    kill: (signal) => stopChild(child, signal),
  };
}

/** The input partitions a service owns, as GET /v1/info reports them. */
export async function partitionsOwned(service: ServiceProcess): Promise<number[]> {
  const response = await fetch(`http://127.0.0.1:${service.port}/v1/info`);
  return ((await response.json()) as { partitionsOwned: number[] }).partitionsOwned;
}

/** Until all `partitions` are owned, each of the services (no more than partitions) owning one or more. */
export async function waitForSpread(
  services: readonly ServiceProcess[],
  partitions: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const owned = await Promise.all(services.map(partitionsOwned));
    if (
      owned.flat().length === partitions &&
      owned.filter((p) => p.length > 0).length === Math.min(services.length, partitions)
    )
      return;
    if (Date.now() > deadline) throw new Error(`partitions never spread: ${JSON.stringify(owned)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** With IMEIFLOW_TEST_LOGS=DIR, keep each service's output for a look after the run. */
export function saveServiceLogs(services: readonly ServiceProcess[], name: string): void {
  const dir = process.env['IMEIFLOW_TEST_LOGS'];
  if (dir === undefined) return;
  for (const [i, service] of services.entries())
    writeFileSync(join(dir, `${name}-service-${i}.log`), service.output.join('\n'));
}

export class TestProducer {
  readonly #producer: Kafka.Producer;

  private constructor(producer: Kafka.Producer) {
    this.#producer = producer;
  }

  /** `partitioner: 'murmur2_random'` places keys as Java clients (and imeiflow) do. */
  static async connect(
    bootstrap: string,
    topicConfig: Kafka.ProducerTopicConfig = {},
  ): Promise<TestProducer> {
    const producer = new Kafka.Producer(
      {
        'bootstrap.servers': bootstrap,
        'linger.ms': 5,
        'queue.buffering.max.messages': 1_000_000,
        'message.max.bytes': 4 * 1024 * 1024,
      },
      topicConfig,
    );
    await new Promise<void>((resolve, reject) =>
      producer.connect({}, (err) => (err ? reject(err) : resolve())),
    );
    producer.setPollInterval(10);
    return new TestProducer(producer);
  }

  send(
    topic: string,
    key: string | null,
    value: Buffer | string | null,
    headers?: Kafka.MessageHeader[],
    partition: number | null = null,
    /** The message's Kafka timestamp (ms since the epoch): when imeiflow counts it received. */
    timestamp = Date.now(),
  ): void {
    const buffer = typeof value === 'string' ? Buffer.from(value) : value;
    this.#producer.produce(topic, partition, buffer, key, timestamp, undefined, headers);
  }

  sendJson(topic: string, key: string | null, value: unknown): void {
    this.send(topic, key, JSON.stringify(value));
  }

  flush(): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#producer.flush(30_000, (err) => (err ? reject(err) : resolve())),
    );
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve) => this.#producer.disconnect(() => resolve()));
  }
}

export interface Collected {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
}

/** Reads every partition of some topics from the beginning, in the background. */
export class TopicCollector {
  readonly #consumer: Kafka.KafkaConsumer;
  readonly messages = new Map<string, Collected[]>();
  #running = true;
  readonly #loop: Promise<void>;

  /** Topics whose messages are also collected under another's name (an operator's results under the shared topic's). */
  readonly #alsoAs: ReadonlyMap<string, string>;

  private constructor(
    consumer: Kafka.KafkaConsumer,
    topics: readonly string[],
    alsoAs: ReadonlyMap<string, string>,
  ) {
    this.#consumer = consumer;
    this.#alsoAs = alsoAs;
    for (const topic of [...topics, ...alsoAs.keys(), ...alsoAs.values()]) this.messages.set(topic, []);
    this.#loop = this.#run();
  }

  /**
   * `alsoAs`: topics read besides `topics`, each collected under its own name and also under the
   * name it maps to, so `of(shared results topic)` is every result whichever operator's topic it
   * is on, and `of(an operator's topic)` only that operator's.
   */
  static async start(
    bootstrap: string,
    topics: readonly string[],
    partitions = 4,
    alsoAs: ReadonlyMap<string, string> = new Map(),
  ): Promise<TopicCollector> {
    const consumer = new Kafka.KafkaConsumer(
      {
        'bootstrap.servers': bootstrap,
        'group.id': `collector-${Math.random()}`,
        'enable.auto.commit': false,
        'fetch.wait.max.ms': 10,
      },
      {},
    );
    await new Promise<void>((resolve, reject) =>
      consumer.connect({}, (err) => (err ? reject(err) : resolve())),
    );
    consumer.setDefaultConsumeTimeout(50);
    const read = [...topics, ...alsoAs.keys()];
    // The topics may not exist yet: asking for their metadata creates them with 4 partitions.
    for (const topic of read) {
      await new Promise<void>((resolve) => consumer.getMetadata({ topic, timeout: 5000 }, () => resolve()));
    }
    consumer.assign(
      read.flatMap((topic) =>
        Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })),
      ),
    );
    return new TopicCollector(consumer, topics, alsoAs);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const batch = await new Promise<Kafka.Message[]>((resolve) =>
        this.#consumer.consume(5000, (err, m) => resolve(err ? [] : m)),
      );
      for (const m of batch) {
        const collected: Collected = {
          topic: m.topic,
          partition: m.partition,
          offset: m.offset,
          key: m.key === null || m.key === undefined ? null : m.key.toString(),
          value: m.value === null ? null : m.value.toString('utf8'),
        };
        this.messages.get(m.topic)?.push(collected);
        const alias = this.#alsoAs.get(m.topic);
        if (alias !== undefined) this.messages.get(alias)?.push(collected);
      }
    }
  }

  of(topic: string): Collected[] {
    return this.messages.get(topic) ?? [];
  }

  json<T>(topic: string): T[] {
    return this.of(topic).map((m) => JSON.parse(m.value ?? 'null') as T);
  }

  /** Wait until `predicate` holds over what has been collected. */
  async waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await new Promise<void>((resolve) => this.#consumer.disconnect(() => resolve()));
  }
}
