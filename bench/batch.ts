/**
 * bench/batch: what one verify worker costs per request, in one thread, with no Kafka: a
 * partition's batches decided in a row by `runBatch`, each storing the previous batch's state
 * first, exactly as a worker does in the pipeline. Prints wall and CPU time per request (CPU
 * includes lmdb-js's write thread and V8's collector threads). The pipeline bench measures the
 * whole; this one isolates the worker's share of it, to measure a change to the hot path quickly.
 * It also prints CPU split into user and system time, and what the process wrote per request
 * (bench/lib/proc-io.ts: through write calls, and to storage).
 * Owners and phones are sealed as in the service (a cluster key made for the run). It runs in a
 * worker thread with the service's workers' young generation (`pool.youngGenerationMb`, or
 * `--young-generation-mb N`; 0: V8's own).
 *
 *   node dist/bench/batch.js [--declared 1000000] [--messages 200000] [--batch 1024]
 *     [--young-generation-mb 192] [--record]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, Worker } from 'node:worker_threads';
import { loadConfig } from '../src/config/config.js';
import { decodeResult } from '../src/pool/batch-contract.js';
import { batchContextOf, runBatch } from '../src/pool/partition-batch.js';
import { workerResourceLimits } from '../src/pool/verify-pool.js';
import { openStore, type Store } from '../src/store/store.js';
import { sealingForThisRun } from './lib/bench-secrets.js';
import { ensureBenchIndex } from './lib/dataset.js';
import { ioBytes, kbPerRequest } from './lib/proc-io.js';
import { emit, note, numberArg } from './lib/report.js';
import { copyBenchIndex } from './lib/store-copy.js';
import { benchWorkerSettings, onePartitionTask, requestInputs, requestPayloads } from './lib/worker-tasks.js';

const declared = numberArg('declared', 1_000_000);
const messages = numberArg('messages', 200_000);
const batchSize = numberArg('batch', 1024);
const warmup = Math.min(messages, 20 * batchSize);
const youngGenerationMb = numberArg('young-generation-mb', loadConfig({ env: {} }).pool.youngGenerationMb);

/**
 * Entries in the stores a batch writes (LMDB's own count): their growth per request is the
 * records a request adds, each at a key of its own (a page written per record, in a large store).
 */
function storeEntries(store: Store): Record<string, number> {
  const count = (db: { getStats(): unknown }): number => (db.getStats() as { entryCount: number }).entryCount;
  return {
    outcomes: count(store.outcomes),
    registry: count(store.registry),
    pending: count(store.pending),
    subject_keys: count(store.subjectIndex),
  };
}

async function main(): Promise<void> {
  const base = await ensureBenchIndex('verify', declared);
  // A copy: the batches write their state next to the index.
  const dataDir = mkdtempSync(join(tmpdir(), 'imeiflow-bench-batch-'));
  copyBenchIndex(base, dataDir);
  // As the service's workers run: owners and phones sealed in the store and on the pending
  // changelog, with the secrets of a cluster key of this run (issue 22, point 3).
  const secrets = sealingForThisRun();
  const store = openStore({ dataDir, secrets });
  const ctx = batchContextOf(store, benchWorkerSettings(dataDir));
  const runId = `bench-${Date.now()}`;
  const payloads = requestPayloads(warmup + messages, declared, runId);

  let previous: Uint8Array | undefined;
  const run = async (from: number, to: number): Promise<void> => {
    for (let start = from; start < to; start += batchSize) {
      const inputs = requestInputs(payloads, start, Math.min(to, start + batchSize));
      const task = onePartitionTask(inputs, previous === undefined ? [] : [previous]);
      previous = decodeResult(await runBatch(ctx, task)).outputs;
    }
  };
  await run(0, warmup);
  const entriesBefore = storeEntries(store);
  const cpuBefore = process.cpuUsage();
  const ioBefore = ioBytes('self');
  const started = performance.now();
  await run(warmup, warmup + messages);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const written = kbPerRequest(ioBefore, ioBytes('self'), messages);
  const entries = storeEntries(store);
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  const perRequest = (us: number): number => Math.round((us / messages) * 100) / 100;
  note(`${messages} requests in ${seconds.toFixed(2)} s`);
  emit(
    'batch',
    {
      declared,
      messages,
      batch: batchSize,
      warmup,
      mix: '85/5/3/2/5',
      threads: 'one worker thread (runBatch in-line)',
      young_generation_mb: youngGenerationMb,
    },
    {
      requests_per_s: Math.round(messages / seconds),
      wall_us_per_request: perRequest(seconds * 1e6),
      cpu_us_per_request: perRequest(cpu.user + cpu.system),
      cpu_user_us_per_request: perRequest(cpu.user),
      cpu_system_us_per_request: perRequest(cpu.system),
      ...(written === undefined ? {} : { written_kb_per_request: written }),
      new_entries_per_request: Object.fromEntries(
        Object.entries(entries).map(([name, n]) => [name, perRequest(n - (entriesBefore[name] ?? 0))]),
      ),
    },
  );
}

if (isMainThread) {
  // As a verify worker runs: in a worker thread with the pool's resource limits. CPU time is the
  // process's (this thread waits).
  const worker = new Worker(new URL(import.meta.url), {
    argv: process.argv.slice(2),
    ...workerResourceLimits(youngGenerationMb),
  });
  const code = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', resolve);
  });
  process.exitCode = code;
} else await main();
