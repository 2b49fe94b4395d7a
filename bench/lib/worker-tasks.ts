/**
 * What the worker benchmarks (bench/verify, bench/batch) hand a verify worker: the bench's
 * requests as JSON, batches of them as input messages, and tasks for partition 0 of 1, so every
 * device is decided where it is and none is forwarded.
 */
import { loadConfig } from '../../src/config/config.js';
import { workerSettings } from '../../src/config/worker-settings.js';
import {
  ENCODING_JSON,
  encodeTask,
  INPUT_REQUEST,
  type InputMessage,
  type WorkerSettings,
} from '../../src/pool/batch-contract.js';
import { requestAt } from './dataset.js';

/** The settings the worker benchmarks run with: the default configuration of the workers. */
export function benchWorkerSettings(dataDir: string): WorkerSettings {
  return workerSettings(loadConfig({ env: {}, overrides: { dataDir } }));
}

/** The first `count` requests of the bench mix, as JSON message values. */
export function requestPayloads(count: number, declared: number, runId: string): Uint8Array[] {
  const encoder = new TextEncoder();
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < count; i++)
    payloads.push(encoder.encode(JSON.stringify(requestAt(i, declared, runId))));
  return payloads;
}

/** Payloads `from` up to `to` as the input messages of one batch, each at its own offset. */
export function requestInputs(payloads: readonly Uint8Array[], from: number, to: number): InputMessage[] {
  const inputs: InputMessage[] = [];
  for (let i = from; i < Math.min(payloads.length, to); i++) {
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
  return inputs;
}

/** A task of partition 0 of 1, storing the given journaled batches' state first. */
export function onePartitionTask(
  inputs: readonly InputMessage[],
  apply: readonly Uint8Array[] = [],
): Uint8Array {
  return encodeTask(
    {
      partition: 0,
      partitions: 1,
      now: Date.now(),
      apply,
      dirtyBodies: [],
      dirtyApplications: [],
      sweep: false,
    },
    inputs,
  );
}
