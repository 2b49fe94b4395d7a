/** Building partition-batch tasks and reading their results in tests (src/pool/batch-contract.ts). */

import { benchWorkerSettings } from '../../bench/lib/worker-tasks.js';
import type { WorkerConfig } from '../../src/config/worker-settings.js';
import {
  decodeResult,
  ENCODING_JSON,
  type EncodingFlag,
  encodeTask,
  INPUT_COMMAND,
  INPUT_FORWARDED,
  INPUT_REQUEST,
  type InputMessage,
  OUTPUT_ROLES,
  type OutputRole,
  type ResultHeader,
  ROLE_RETIRED,
  STATE_DBS,
  type StateDb,
  type TaskHeader,
  type WorkerSettings,
} from '../../src/pool/batch-contract.js';
import { BatchOutputs } from '../../src/pool/outputs-section.js';
import { TEST_TOPICS } from './topics.js';

/** The benchmarks' worker settings, with the short topic names the tests' DLQ entries name. */
export const TEST_WORKER_SETTINGS = (dataDir: string): WorkerSettings => workerSettingsWith(dataDir, {});

/** Sections of the workers' configuration, each with some of its settings replaced. */
export type WorkerConfigChanges = { readonly [S in keyof WorkerConfig]?: Partial<WorkerConfig[S]> };

/** The tests' worker settings with some settings changed: `{ rules: { eligibleProcedures: ['40'] } }`. */
export function workerSettingsWith(dataDir: string, changes: WorkerConfigChanges): WorkerSettings {
  const { config } = benchWorkerSettings(dataDir);
  const topics = {
    ...config.topics,
    requests: TEST_TOPICS.requests,
    repartition: TEST_TOPICS.repartition,
    commands: TEST_TOPICS.commands,
  };
  const changed: Record<string, unknown> = { ...config, topics };
  for (const [key, change] of Object.entries(changes)) {
    const current = changed[key];
    changed[key] =
      typeof current === 'object' && current !== null
        ? { ...(current as object), ...(change as object) }
        : change;
  }
  return { config: changed as unknown as WorkerConfig };
}

export function requestInput(
  offset: number,
  value: unknown,
  options: { timestamp?: number; encoding?: EncodingFlag; raw?: Uint8Array; key?: string } = {},
): InputMessage {
  return {
    kind: INPUT_REQUEST,
    encoding: options.encoding ?? ENCODING_JSON,
    key: options.key === undefined ? null : Buffer.from(options.key),
    value: options.raw ?? Buffer.from(JSON.stringify(value)),
    offset,
    timestamp: options.timestamp ?? Date.parse('2026-11-23T05:00:00Z'),
    originPartition: 0,
    originOffset: offset,
  };
}

export function forwardedInput(
  offset: number,
  value: unknown,
  origin: [number, number],
  timestamp?: number,
): InputMessage {
  return {
    ...requestInput(offset, value, timestamp === undefined ? {} : { timestamp }),
    kind: INPUT_FORWARDED,
    originPartition: origin[0],
    originOffset: origin[1],
  };
}

export function commandInput(offset: number, command: unknown): InputMessage {
  return { ...requestInput(offset, command), kind: INPUT_COMMAND };
}

export function taskFor(inputs: readonly InputMessage[], header: Partial<TaskHeader> = {}): Uint8Array {
  return encodeTask(
    {
      partition: 0,
      partitions: 1,
      now: Date.parse('2026-11-23T06:00:00Z'),
      apply: [],
      dirtyBodies: [],
      dirtyApplications: [],
      sweep: false,
      ...header,
    },
    inputs,
  );
}

export interface ReadOutput {
  readonly role: OutputRole | 'retired';
  readonly partition: number;
  /** Results only: whose topic (src/pool/result-tenants.ts; 0 the shared one). */
  readonly tenant: number;
  readonly key: string | null;
  /** The value as JSON where it is JSON (results, confirmations, DLQ, revocations), else null. */
  readonly json: Record<string, unknown> | null;
  readonly bytes: Buffer | null;
}

export interface ReadResult {
  readonly header: ResultHeader;
  readonly outputs: ReadOutput[];
  readonly ops: { db: StateDb; op: 'put' | 'remove'; key: string }[];
  /** The outputs section, as the next task applies it. */
  readonly section: Uint8Array;
}

const JSON_ROLES = new Set(['results', 'confirmations', 'dlq', 'revocations']);

export function readResult(buffer: Uint8Array): ReadResult {
  const { header, outputs: section } = decodeResult(buffer);
  const outputs = new BatchOutputs(section);
  const read: ReadOutput[] = [];
  for (let i = 0; i < outputs.outputCount; i++) {
    const code = outputs.role(i);
    const role = code === ROLE_RETIRED ? 'retired' : OUTPUT_ROLES[code]!;
    const value = outputs.value(i);
    read.push({
      role,
      partition: outputs.partition(i),
      tenant: outputs.tenant(i),
      key: outputs.key(i)?.toString('utf8') ?? null,
      json:
        JSON_ROLES.has(role) && value !== null
          ? (JSON.parse(value.toString('utf8')) as Record<string, unknown>)
          : null,
      bytes: value,
    });
  }
  const ops = [];
  for (let i = 0; i < outputs.opCount; i++) {
    const op = outputs.op(i);
    ops.push({
      db: STATE_DBS[op.db]!,
      op: op.op === 0 ? ('put' as const) : ('remove' as const),
      key: Buffer.from(op.key).toString('utf8'),
    });
  }
  return { header, outputs: read, ops, section: Uint8Array.from(section) };
}

/** The results of a batch: `requestId:outcome[:reason]` in order. */
export function resultsOf(result: ReadResult): string[] {
  return result.outputs
    .filter((o) => o.role === 'results')
    .map((o) => {
      const { requestId, outcome, reason } = o.json as {
        requestId: string;
        outcome: string;
        reason: string | null;
      };
      return reason === null ? `${requestId}:${outcome}` : `${requestId}:${outcome}:${reason}`;
    });
}
