/**
 * SIGKILL in the middle of a stream, then a restart on the same data: every request gets
 * exactly one outcome and every confirmed one exactly one БДИК confirmation.
 *
 * The requests are streamed at a steady rate while the service runs, is killed and restarts
 * (the embedded cluster keeps only ~5 MB per partition, so nothing is pre-filled).
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
import { expectExactlyOnce, streamRequests } from '../helpers/stream.js';
import { tempDir } from '../helpers/tmp.js';

const N = Number(process.env['IMEIFLOW_TEST_STREAM'] ?? 200_000);
const RATE_PER_SECOND = 5_000;

let broker: BrokerProcess;
let collector: TopicCollector;
let producer: TestProducer;
const services: ServiceProcess[] = [];
const { env, topics } = uniqueTopics(`crash-${Date.now()}`);
const dataDir = join(tempDir(), 'data');

beforeAll(async () => {
  broker = await startBroker();
  const store = openStore({ dataDir });
  await buildIndex(store, N);
  await store.close();
  collector = await TopicCollector.start(broker.bootstrap, [
    topics.results!,
    topics.confirmations!,
    topics.dlq!,
  ]);
  producer = await TestProducer.connect(broker.bootstrap);
});

afterAll(async () => {
  saveServiceLogs(services, 'crash');
  for (const s of services) await s.kill('SIGTERM');
  await producer?.close();
  await collector?.stop();
  await broker?.stop();
});

describe('SIGKILL mid-stream', () => {
  it(`loses nothing and duplicates nothing across a kill and restart (${N} requests)`, async () => {
    const first = await startService({ bootstrap: broker.bootstrap, dataDir, env });
    services.push(first);
    await first.waitReady();
    const runId = `crash-${Date.now()}`;
    const streaming = streamRequests(producer, topics.requests!, N, RATE_PER_SECOND, (i) =>
      requestAt(i, N, runId),
    );

    // Kill once a good part of the stream has been answered, while requests keep coming.
    await collector.waitFor(
      () => collector.of(topics.results!).length >= N / 5,
      120_000,
      'the first fifth of the outcomes',
    );
    await first.kill('SIGKILL');
    const answeredAtKill = collector.of(topics.results!).length;
    expect(answeredAtKill).toBeLessThan(N);

    const second = await startService({ bootstrap: broker.bootstrap, dataDir, env });
    services.push(second);
    await streaming;
    await expectExactlyOnce(collector, topics, N, runId, 240_000, (i) => kindAt(i) !== 'pending');
    expect(collector.of(topics.dlq!)).toHaveLength(0);
  });
});
