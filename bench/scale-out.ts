/**
 * bench/scale-out: what more instances do on this machine. Three instances in one group on the
 * embedded cluster (in its own process), each on a copy of the bench index, drain a burst of
 * `--burst` requests; then two of them are stopped, the one left takes every partition and
 * drains another burst. A burst is sent as fast as the instances answer (at most 20 000
 * unanswered, as the embedded cluster keeps only about 5 MB a partition) and its rate runs from
 * its first request to its last outcome. Each instance runs one verify worker.
 * test/integration/scale-out.test.ts proves the same moves exactly once; this measures them.
 *
 *   node dist/bench/scale-out.js [--burst 30000] [--declared 1000000] [--record]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureBenchIndex, requestAt } from './lib/dataset.js';
import {
  type ServiceProcess,
  startBroker,
  startService,
  TestProducer,
  TopicCollector,
  uniqueTopics,
  waitForSpread,
} from './lib/harness.js';
import { emit, note, numberArg } from './lib/report.js';
import { copyBenchIndex } from './lib/store-copy.js';

const burst = numberArg('burst', 30_000);
const declared = numberArg('declared', 1_000_000);
const MOST_UNANSWERED = 20_000;
const PARTITIONS = 4;

interface Rig {
  readonly producer: TestProducer;
  readonly collector: TopicCollector;
  readonly requests: string;
  readonly results: string;
}

/** Sends a burst with `runId`'s request ids as fast as it is answered; requests a second. */
async function drain(rig: Rig, runId: string, first: number): Promise<number> {
  // The collected results only grow: count this run's as they come.
  let seen = 0;
  let answered = 0;
  const count = (): number => {
    const results = rig.collector.of(rig.results);
    for (; seen < results.length; seen++) if (results[seen]!.key?.startsWith(`${runId}-`)) answered++;
    return answered;
  };
  const started = performance.now();
  for (let i = 0; i < burst; i++) {
    if (i % 1000 === 0) while (i - count() > MOST_UNANSWERED) await new Promise((r) => setTimeout(r, 20));
    const request = requestAt(first + i, declared, runId);
    rig.producer.sendJson(rig.requests, request.imei, { ...request, requestId: `${runId}-${i}` });
  }
  await rig.producer.flush();
  await rig.collector.waitFor(() => count() >= burst, 600_000, `${burst} outcomes of ${runId}`);
  return Math.round(burst / ((performance.now() - started) / 1000));
}

async function main(): Promise<void> {
  const index = await ensureBenchIndex('pipeline', declared);
  const root = mkdtempSync(join(tmpdir(), 'imeiflow-scale-out-'));
  const broker = await startBroker();
  const services: ServiceProcess[] = [];
  let producer: TestProducer | undefined;
  let collector: TopicCollector | undefined;
  try {
    const { env, topics, operatorResults } = uniqueTopics(`bench-scale-out-${Date.now()}`);
    // Outcomes are on each operator's topic: all of them are collected as the shared topic's.
    const alsoAs = new Map(operatorResults.map(({ topic }) => [topic, topics['results']!] as const));
    collector = await TopicCollector.start(broker.bootstrap, [topics['results']!], PARTITIONS, alsoAs);
    producer = await TestProducer.connect(broker.bootstrap);
    const rig = { producer, collector, requests: topics['requests']!, results: topics['results']! };
    for (const name of ['a', 'b', 'c']) {
      const dataDir = join(root, name);
      copyBenchIndex(index, dataDir);
      services.push(
        await startService({
          bootstrap: broker.bootstrap,
          dataDir,
          env: { ...env, IMEIFLOW_LOG_LEVEL: 'warn' },
        }),
      );
    }
    await Promise.all(services.map((service) => service.waitReady(120_000)));
    await waitForSpread(services, PARTITIONS, 120_000);
    note(`three instances draining ${burst} requests`);
    const three = await drain(rig, `scale3-${Date.now()}`, 0);
    for (const service of services.splice(1)) await service.kill('SIGTERM');
    await waitForSpread(services, PARTITIONS, 120_000);
    note(`one instance draining ${burst} requests`);
    const one = await drain(rig, `scale1-${Date.now()}`, burst);
    emit(
      'scale-out',
      {
        burst,
        declared_imeis: declared,
        partitions: PARTITIONS,
        workers_per_instance: 1,
        broker: 'embedded (own process)',
      },
      {
        drain_per_s: { three_instances: three, one_instance: one },
        three_vs_one: Number((three / one).toFixed(3)),
      },
    );
  } finally {
    for (const service of services) await service.kill('SIGTERM');
    await producer?.close();
    await collector?.stop();
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
