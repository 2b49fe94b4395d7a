/**
 * bench/verify: verifications per second through the Piscina pool, for one worker and for the
 * whole pool, at batch sizes 64, 1024 and 8192, against an index of 1 M declared IMEIs. A
 * verification is what a worker does per request in the pipeline: decode it, every rule, its
 * output messages and its state changes, laid out for the main thread to produce and journal.
 *
 *   node dist/bench/verify.js [--declared 1000000] [--messages 400000] [--record]
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { InputMessage } from '../src/pool/batch-contract.js';
import { VerifyPool } from '../src/pool/verify-pool.js';
import { ensureBenchIndex } from './lib/dataset.js';
import { emit, note, numberArg } from './lib/report.js';
import { benchWorkerSettings, onePartitionTask, requestInputs, requestPayloads } from './lib/worker-tasks.js';

const declared = numberArg('declared', 1_000_000);
const messages = numberArg('messages', 400_000);
const batchSizes = [64, 1024, 8192];
const poolWorkers = availableParallelism();
let dataDir = '';

async function measure(workers: number, batch: number, payloads: readonly Uint8Array[]): Promise<number> {
  const pool = new VerifyPool({
    workers,
    maxQueuedBatchesPerWorker: 2,
    settings: benchWorkerSettings(dataDir),
  });
  const batches: InputMessage[][] = [];
  for (let start = 0; start < payloads.length; start += batch) {
    batches.push(requestInputs(payloads, start, start + batch));
  }
  // Warm-up: JIT and page cache, not timed.
  await pool.run(onePartitionTask(batches[0]!));
  // Keep two batches per worker in flight: enough to never starve a worker.
  const inFlight = workers * 2;
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < batches.length) {
      const b = batches[next++]!;
      await pool.run(onePartitionTask(b));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return Math.round(payloads.length / seconds);
}

async function main(): Promise<void> {
  dataDir = await ensureBenchIndex('verify', declared);
  const runId = `bench-${Date.now()}`;
  const payloads = requestPayloads(messages, declared, runId);
  const results: { batch: number; workers: number; verifications_per_s: number }[] = [];
  for (const batch of batchSizes) {
    for (const workers of [1, poolWorkers]) {
      const rate = await measure(workers, batch, payloads);
      note(`batch ${batch}, ${workers} worker(s): ${rate} verifications/s`);
      results.push({ batch, workers, verifications_per_s: rate });
    }
  }
  const perWorker1024 = results.find((r) => r.batch === 1024 && r.workers === 1)?.verifications_per_s ?? 0;
  emit(
    'verify',
    {
      declared_imeis: declared,
      messages,
      batch_sizes: batchSizes,
      pool_workers: poolWorkers,
      mix: '85/5/3/2/5',
    },
    {
      results,
      target_per_worker_batch_1024: 300_000,
      per_worker_batch_1024: perWorker1024,
      target_met: perWorker1024 >= 300_000,
    },
  );
}

await main();
