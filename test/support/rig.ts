/**
 * The set-up every integration test shares. A test file calls `useRig` once with what it needs;
 * before its tests the rig checks the Debian tools, starts the embedded cluster in its own
 * process (`imeiflow broker`), prepares the data directories, starts a collector that reads the
 * output topics from the start and a producer, then the service; after them it tears all of it
 * down in the reverse order, each step even if an earlier one failed. Topics and the consumer
 * group are unique to the file. The process plumbing itself is bench/lib/harness.ts, which the
 * benchmarks share.
 */

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildIndex } from '../../bench/lib/dataset.js';
import {
  type BrokerProcess,
  type ServiceProcess,
  saveServiceLogs,
  startBroker,
  startService,
  TestProducer,
  TopicCollector,
  uniqueTopics,
} from '../../bench/lib/harness.js';
import type { Config } from '../../src/config/config.js';
import type { OperatorTopic } from '../../src/kafka/result-topics.js';
import { openStore } from '../../src/store/store.js';
import { seedStore } from './fixtures.js';
import { tempDir } from './tmp.js';
import { type DebianTool, requireTools } from './tools.js';

export type { ServiceProcess } from '../../bench/lib/harness.js';
export { freePort, stopChild } from '../../bench/lib/harness.js';

export type TopicRole = keyof Config['topics'];

/** Fills a data directory before anything starts. */
export type PrepareStore = (dataDir: string) => Promise<void>;

/** The sample TAC table, declarations and block list, plus extra rows (see `seedStore`). */
export function seeded(extra?: Parameters<typeof seedStore>[1]): PrepareStore {
  return (dataDir) => seedStore(dataDir, extra);
}

/** The benchmarks' generated index for `declared` devices (bench/lib/dataset.ts). */
export function indexed(declared: number): PrepareStore {
  return async (dataDir) => {
    const store = openStore({ dataDir });
    try {
      await buildIndex(store, declared);
    } finally {
      await store.close();
    }
  };
}

export interface RigOptions {
  /** Names the file's topics, consumer group and saved service logs. */
  readonly name: string;
  /** Debian tools the tests drive, checked before anything starts. */
  readonly tools?: readonly DebianTool[];
  /** Data directories under the rig's temporary root, by name, prepared in this order. */
  readonly stores?: Readonly<Record<string, PrepareStore>>;
  /** The embedded cluster, a producer, and a collector reading `collect` from the start. */
  readonly kafka?: { readonly collect: readonly TopicRole[] };
  /** One service on the named data directory, started last and ready before the tests run. */
  readonly service?: { readonly store: string } & ServiceOptions;
}

export interface ServiceOptions {
  /** Environment variables on top of the rig's topics and group. */
  readonly env?: Readonly<Record<string, string>>;
  /** A configuration file for the service (IMEIFLOW_CONFIG), merged over the defaults (src/config/settings.ts). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** The most bytes the service may write to one file (its store cannot grow past it). */
  readonly fileSizeLimitBytes?: number;
}

export interface Rig {
  /** The file's topic names by role, and the environment that points a service at them. */
  readonly topics: Readonly<Record<TopicRole, string>>;
  /** Each operator's results topic (`collector.of(topics.results)` has theirs and the shared one's). */
  readonly operatorResults: readonly OperatorTopic[];
  readonly env: Readonly<Record<string, string>>;
  /** A temporary directory removed at the end; data directories live in it. */
  readonly root: string;
  dataDir(store: string): string;
  readonly broker: BrokerProcess;
  readonly collector: TopicCollector;
  readonly producer: TestProducer;
  /** The service `options.service` asked for. */
  readonly service: ServiceProcess;
  /** Every service the rig started, killed ones included, in start order. */
  readonly services: readonly ServiceProcess[];
  /** Starts `imeiflow run` on a data directory (not waiting until ready); stopped at teardown. */
  startService(store: string, options?: ServiceOptions): Promise<ServiceProcess>;
  /** A teardown step of the test's own (a browser, a Prometheus): run first, the last added first. */
  onTeardown(step: () => unknown): void;
}

function started<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new Error(`the rig has not started ${what} (use it inside a test or a hook)`);
  return value;
}

class TestRig implements Rig {
  readonly topics: Readonly<Record<TopicRole, string>>;
  readonly operatorResults: readonly OperatorTopic[];
  readonly env: Readonly<Record<string, string>>;
  // Removed by the rig's teardown, and by the test file's end whatever happened (tmp.ts).
  readonly root = tempDir();
  readonly #options: RigOptions;
  readonly #services: ServiceProcess[] = [];
  readonly #teardown: (() => unknown)[] = [];
  #broker: BrokerProcess | undefined;
  #collector: TopicCollector | undefined;
  #producer: TestProducer | undefined;
  #service: ServiceProcess | undefined;

  constructor(options: RigOptions) {
    if (options.service !== undefined && options.kafka === undefined)
      throw new Error('a rig with a service needs kafka');
    this.#options = options;
    const { env, topics, operatorResults } = uniqueTopics(`${options.name}-${Date.now()}`);
    this.env = env;
    this.topics = topics as Record<TopicRole, string>;
    this.operatorResults = operatorResults;
  }

  dataDir(store: string): string {
    return join(this.root, store);
  }

  get broker(): BrokerProcess {
    return started(this.#broker, 'the broker');
  }

  get collector(): TopicCollector {
    return started(this.#collector, 'a collector');
  }

  get producer(): TestProducer {
    return started(this.#producer, 'a producer');
  }

  get service(): ServiceProcess {
    return started(this.#service, 'a service');
  }

  get services(): readonly ServiceProcess[] {
    return this.#services;
  }

  async startService(store: string, options: ServiceOptions = {}): Promise<ServiceProcess> {
    const env = { ...this.env, ...options.env };
    if (options.config !== undefined) {
      const file = join(this.root, `config-${this.#services.length}.json`);
      writeFileSync(file, JSON.stringify(options.config));
      env['IMEIFLOW_CONFIG'] = file;
    }
    const service = await startService({
      bootstrap: this.broker.bootstrap,
      dataDir: this.dataDir(store),
      env,
      ...(options.fileSizeLimitBytes === undefined ? {} : { fileSizeLimitBytes: options.fileSizeLimitBytes }),
    });
    this.#services.push(service);
    return service;
  }

  onTeardown(step: () => unknown): void {
    this.#teardown.push(step);
  }

  async setUp(): Promise<void> {
    const { tools, stores, kafka, service } = this.#options;
    if (tools !== undefined) requireTools(...tools);
    if (kafka !== undefined) this.#broker = await startBroker();
    for (const [name, prepare] of Object.entries(stores ?? {})) await prepare(this.dataDir(name));
    if (kafka !== undefined) {
      // Results are on each operator's topic: collected there, and all of them as the shared topic's.
      const alsoAs = new Map(
        kafka.collect.includes('results')
          ? this.operatorResults.map(({ topic }) => [topic, this.topics.results] as const)
          : [],
      );
      this.#collector = await TopicCollector.start(
        this.broker.bootstrap,
        kafka.collect.map((role) => this.topics[role]),
        4,
        alsoAs,
      );
      this.#producer = await TestProducer.connect(this.broker.bootstrap);
    }
    if (service !== undefined) {
      this.#service = await this.startService(service.store, service);
      await this.#service.waitReady();
    }
  }

  /** Every step runs even if one before it failed; the first failure is rethrown at the end. */
  async tearDown(): Promise<void> {
    const failures: unknown[] = [];
    const step = async (run: () => unknown): Promise<void> => {
      try {
        await run();
      } catch (error) {
        failures.push(error);
      }
    };
    for (const own of [...this.#teardown].reverse()) await step(own);
    await step(() => saveServiceLogs(this.#services, this.#options.name));
    for (const service of this.#services) await step(() => service.kill('SIGTERM'));
    await step(() => this.#producer?.close());
    await step(() => this.#collector?.stop());
    await step(() => this.#broker?.stop());
    await step(() => rmSync(this.root, { recursive: true, force: true }));
    if (failures.length > 0) throw failures[0];
  }
}

/** Registers the file's set-up and teardown; the returned rig is usable inside tests and hooks. */
export function useRig(options: RigOptions): Rig {
  const rig = new TestRig(options);
  beforeAll(() => rig.setUp());
  afterAll(() => rig.tearDown());
  return rig;
}
