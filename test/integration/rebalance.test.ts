/**
 * Two instances in one consumer group; one is killed mid-stream. The survivor takes over its
 * partitions — including the requests waiting there for KGD, restored from the pending
 * changelog — and every request still gets exactly one outcome, every confirmation exactly once.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex, kindAt, requestAt } from '../../bench/lib/dataset.js';
import { openStore } from '../../src/store/store.js';
import {
  type BrokerProcess,
  type ServiceProcess,
  saveServiceLogs,
  startBroker,
  startService,
  TestProducer,
  TopicCollector,
  uniqueTopics,
} from '../helpers/kafka.js';
import { expectExactlyOnce, releaseWaiting, streamRequests } from '../helpers/stream.js';
import { tempDir } from '../helpers/tmp.js';

const N = Number(process.env['IMEIFLOW_TEST_STREAM_REBALANCE'] ?? 100_000);
const RATE_PER_SECOND = 4_000;

let broker: BrokerProcess;
let collector: TopicCollector;
let producer: TestProducer;
const services: ServiceProcess[] = [];
const { env, topics } = uniqueTopics(`rebalance-${Date.now()}`);
const root = tempDir();

beforeAll(async () => {
  broker = await startBroker();
  // Every instance keeps its own LMDB with the global tables (TAC, declarations, block list).
  for (const name of ['a', 'b']) {
    const store = openStore({ dataDir: join(root, name) });
    await buildIndex(store, N);
    await store.close();
  }
  collector = await TopicCollector.start(broker.bootstrap, [
    topics.results!,
    topics.confirmations!,
    topics.dlq!,
  ]);
  producer = await TestProducer.connect(broker.bootstrap);
});

afterAll(async () => {
  saveServiceLogs(services, 'rebalance');
  for (const s of services) await s.kill('SIGTERM');
  await producer?.close();
  await collector?.stop();
  await broker?.stop();
});

const partitionsOf = async (service: ServiceProcess): Promise<number[]> => {
  const response = await fetch(`http://127.0.0.1:${service.port}/v1/info`);
  return ((await response.json()) as { partitionsOwned: number[] }).partitionsOwned;
};

describe('two instances, one killed', () => {
  it("the survivor finishes the stream exactly once and settles the dead one's pending requests", async () => {
    const a = await startService({ bootstrap: broker.bootstrap, dataDir: join(root, 'a'), env });
    const b = await startService({ bootstrap: broker.bootstrap, dataDir: join(root, 'b'), env });
    services.push(a, b);
    await Promise.all([a.waitReady(), b.waitReady()]);
    // Both own partitions before the stream starts.
    const deadline = Date.now() + 30_000;
    while ((await partitionsOf(a)).length === 0 || (await partitionsOf(b)).length === 0) {
      if (Date.now() > deadline) throw new Error('the group never spread over both instances');
      await new Promise((r) => setTimeout(r, 500));
    }
    const ownedByA = await partitionsOf(a);

    const runId = `rb-${Date.now()}`;
    const streaming = streamRequests(producer, topics.requests!, N, RATE_PER_SECOND, (i) =>
      requestAt(i, N, runId),
    );
    await collector.waitFor(
      () => collector.of(topics.results!).length >= N / 4,
      120_000,
      'a quarter of the outcomes',
    );
    await a.kill('SIGKILL');
    await streaming;

    // Every request not waiting for KGD gets its final outcome exactly once.
    await expectExactlyOnce(collector, topics, N, runId, 240_000, (i) => kindAt(i) !== 'pending');

    // Requests that were waiting in the dead instance's partitions are settled by the survivor.
    expect(
      await releaseWaiting(collector, producer, topics, runId, ownedByA, 'KZ-AFTER-KILL', 20),
    ).toBeGreaterThan(0);
    await expectExactlyOnce(collector, topics, N, runId, 10_000, (i) => kindAt(i) !== 'pending');
    expect(collector.of(topics.dlq!)).toHaveLength(0);
  });
});
