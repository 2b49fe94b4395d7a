/**
 * bench/batch: what one verify worker costs per request, in one thread, with no Kafka: a
 * partition's batches decided in a row by `runBatch`, each storing the previous batch's state
 * first, exactly as a worker does in the pipeline. Prints wall and CPU time per request (CPU
 * includes lmdb-js's write thread and V8's collector threads). The pipeline bench measures the
 * whole; this one isolates the worker's share of it, to measure a change to the hot path quickly.
 *
 *   node dist/bench/batch.js [--declared 1000000] [--messages 200000] [--batch 1024] [--record]
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  decodeResult,
  ENCODING_JSON,
  encodeTask,
  INPUT_REQUEST,
  type InputMessage,
  type WorkerSettings,
} from '../src/pool/batch-contract.js';
import { batchContextOf, runBatch } from '../src/pool/partition-batch.js';
import { openStore } from '../src/store/store.js';
import { ensureBenchIndex, requestAt } from './lib/dataset.js';
import { emit, note, numberArg } from './lib/report.js';

const declared = numberArg('declared', 1_000_000);
const messages = numberArg('messages', 200_000);
const batchSize = numberArg('batch', 1024);
const warmup = Math.min(messages, 20 * batchSize);

const settings: WorkerSettings = {
  dataDir: '',
  eligibleProcedures: ['40', '53', '60', '94'],
  acceptEaeuImports: true,
  spareDigit: { operators: [], channels: [] },
  maxMessageBytes: 65536,
  requestsTopic: 'imei.verify.requests',
  repartitionTopic: 'imeiflow.requests.repartition',
  commandsTopic: 'imeiflow.commands',
  deadlineWorkingDays: 1,
  utcOffsetMinutes: 300,
  holidays: [],
  workingDays: [],
};

async function main(): Promise<void> {
  const base = await ensureBenchIndex('verify', declared);
  // A copy: the batches write their state next to the index.
  const dataDir = mkdtempSync(join(tmpdir(), 'imeiflow-bench-batch-'));
  cpSync(base, dataDir, { recursive: true });
  const store = openStore({ dataDir });
  const ctx = batchContextOf(store, { ...settings, dataDir });
  const runId = `bench-${Date.now()}`;
  const encoder = new TextEncoder();
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < warmup + messages; i++)
    payloads.push(encoder.encode(JSON.stringify(requestAt(i, declared, runId))));

  let previous: Uint8Array | undefined;
  const run = async (from: number, to: number): Promise<void> => {
    for (let start = from; start < to; start += batchSize) {
      const inputs: InputMessage[] = [];
      for (let i = start; i < Math.min(to, start + batchSize); i++) {
        inputs.push({
          kind: INPUT_REQUEST,
          encoding: ENCODING_JSON,
          key: null,
          value: payloads[i]!,
          offset: i,
          timestamp: Date.now(),
          originPartition: 0,
          originOffset: i,
        });
      }
      // One partition of one: every device is decided here, none forwarded.
      const task = encodeTask(
        {
          partition: 0,
          partitions: 1,
          now: Date.now(),
          apply: previous === undefined ? [] : [previous],
          dirtyBodies: [],
          dirtyApplications: [],
          sweep: false,
        },
        inputs,
      );
      previous = decodeResult(await runBatch(ctx, task)).outputs;
    }
  };
  await run(0, warmup);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await run(warmup, warmup + messages);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  const perRequest = (us: number): number => Math.round((us / messages) * 100) / 100;
  note(`${messages} requests in ${seconds.toFixed(2)} s`);
  emit(
    'batch',
    { declared, messages, batch: batchSize, warmup, mix: '85/5/3/2/5', threads: 'one (runBatch in-line)' },
    {
      requests_per_s: Math.round(messages / seconds),
      wall_us_per_request: perRequest(seconds * 1e6),
      cpu_us_per_request: perRequest(cpu.user + cpu.system),
    },
  );
}

await main();
