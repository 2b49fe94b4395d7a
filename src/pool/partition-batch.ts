/**
 * One partition batch, decided in a worker: first store the state of the partition's previous
 * (already journaled) batch, then decide — waiting requests the index may now settle, commands,
 * then requests in arrival order — and return the outputs and state changes as one buffer.
 *
 * Storing the previous batch first means every decision sees everything decided before it in
 * its partition, with no conflict check and no second pass: the pipeline sends a partition's
 * next batch only after the previous one is journaled.
 */

import type { WorkerConfig } from '../config/worker-settings.js';
import { applyCommand, parseCommand, reevaluateDevice, withdrawIfRefuted } from '../domain/commands.js';
import { type DeadlinePolicy, deadlinePolicyOf } from '../domain/deadline.js';
import { devicePartition } from '../domain/device-partition.js';
import { normaliseImei } from '../domain/imei.js';
import { parseRequest } from '../domain/request.js';
import { type RuleSettings, ruleSettingsOf } from '../domain/rule-settings.js';
import { decide } from '../domain/rules.js';
import type { RejectedDecision } from '../domain/types.js';
import { WorkerIndexView } from '../store/index-view.js';
import { allOrNothing, type Store } from '../store/store.js';
import { committed } from '../store/store-full.js';
import { openFromTopic, SealError, sealForTopic } from '../store/topic-seal.js';
import {
  decodeTask,
  ENCODING_MSGPACK,
  encodeResult,
  INPUT_COMMAND,
  INPUT_REQUEST,
  type InputMessage,
  type InputRefusal,
  type TaskHeader,
  type WorkerSettings,
} from './batch-contract.js';
import { BatchWriter } from './batch-writer.js';
import { BatchOutputs } from './outputs-section.js';
import type { ResultSettings } from './result-tenants.js';
import { applyStateOps } from './state-ops.js';

export interface BatchContext {
  readonly store: Store;
  readonly index: WorkerIndexView;
  readonly rules: RuleSettings;
  readonly deadlines: DeadlinePolicy;
  readonly results: ResultSettings;
  /** The configuration the workers read (src/config/worker-settings.ts). */
  readonly config: WorkerConfig;
}

/** What a worker's batches decide with: its store, the rule settings and the deadline calendar. */
export function batchContextOf(store: Store, { config }: Pick<WorkerSettings, 'config'>): BatchContext {
  const { results } = config;
  return {
    store,
    index: new WorkerIndexView(store, config.pool.tacCacheEntries),
    rules: ruleSettingsOf(config.rules),
    deadlines: deadlinePolicyOf(config.pending),
    results: {
      operators: results.perOperator ? results.operators : [],
      customsView: results.customsView,
    },
    config,
  };
}

/** Where a request was read: `<partition>/<offset>` of the requests topic, the identity rule 10 compares. */
export function requestSource(partition: number, offset: number): string {
  return `${partition}/${offset}`;
}

/** A forwarded request's value opened (src/store/topic-seal.ts); one that does not open goes to the DLQ as it is. */
function openForwarded(value: Uint8Array | null): Uint8Array | null {
  if (value === null) return null;
  try {
    return openFromTopic('repartition', value);
  } catch (error) {
    if (error instanceof SealError) return value;
    throw error;
  }
}

function keyText(key: Uint8Array | null): string | null {
  return key === null ? null : Buffer.from(key.buffer, key.byteOffset, key.length).toString('utf8');
}

/**
 * Store the state of journaled batches. Returns the devices they left waiting. A failed commit
 * (a full disk) fails the task with its reason; the batch stays journaled, so nothing is lost.
 */
async function applyJournaled(store: Store, sections: readonly Uint8Array[]): Promise<string[]> {
  const waiting: string[] = [];
  // All or nothing: half a batch stored would name new subject keys whose slots were never synced
  // (the sync ends applyStateOps).
  await committed(
    allOrNothing(store, () => {
      for (const section of sections) waiting.push(...applyStateOps(store, new BatchOutputs(section)));
    }),
  );
  return waiting;
}

/** Devices of this partition whose waiting requests the index may now settle. */
function devicesToReevaluate(ctx: BatchContext, header: TaskHeader, waiting: readonly string[]): Set<string> {
  const { store } = ctx;
  const bodies = new Set<string>(waiting);
  for (const body of header.dirtyBodies) bodies.add(body);
  for (const id of header.dirtyApplications) {
    for (const body of store.pendingByApplication.getValues(id)) bodies.add(body);
  }
  if (header.sweep) {
    for (const { key, value } of store.pending.getRange()) {
      if (value.some((e) => e.partition === header.partition)) bodies.add(key);
    }
  }
  return bodies;
}

export async function runBatch(ctx: BatchContext, task: Uint8Array): Promise<Uint8Array> {
  const { header, inputs } = decodeTask(task);
  // The previous batch's waiting devices are checked again now that it is stored: a KGD decision
  // stored meanwhile by another thread is seen by whichever of the two commits second.
  const waiting = header.apply.length > 0 ? await applyJournaled(ctx.store, header.apply) : [];
  ctx.index.refresh();
  const { store } = ctx;
  const writer = new BatchWriter(
    ctx.index,
    {
      pending: (body) => store.pending.get(body),
      registered: (body) => store.registry.get(body),
      outcome: (requestId) => store.outcomes.get(requestId),
    },
    header.partition,
    new Date(header.now),
    ctx.rules,
    ctx.deadlines,
    ctx.results,
  );
  for (const body of devicesToReevaluate(ctx, header, waiting)) {
    if (devicePartition(body, header.partitions) !== header.partition) continue;
    reevaluateDevice(body, writer);
  }
  for (const body of header.dirtyBodies) {
    if (devicePartition(body, header.partitions) === header.partition) withdrawIfRefuted(body, writer);
  }
  if (header.sweep) {
    // A partition's new owner (or a restart) carries out every withdrawal KGD made, whether or not
    // the notice of it reached the owner of the time: that notice lives in memory, and a crash or
    // a rebalance loses it (found by the simulation, issue 20). Registrations only: a reviewer's
    // confirmation KGD refutes goes to review when the notice arrives, not at every restart.
    for (const body of store.withdrawals.getKeys()) {
      if (devicePartition(body, header.partitions) === header.partition)
        withdrawIfRefuted(body, writer, { review: false });
    }
  }
  decideMessages(ctx, header, inputs, writer);
  const { section, counts } = writer.finish();
  return encodeResult({ counts, decided: writer.decided, forwarded: writer.forwarded }, section);
}

/** What deciding messages needs besides the partition's state (which the writer reads). */
export type DecideContext = Pick<BatchContext, 'rules' | 'config'>;

/** Decide a batch's messages in order: commands first, then requests as they arrived. */
export function decideMessages(
  ctx: DecideContext,
  header: Pick<TaskHeader, 'partition' | 'partitions'>,
  inputs: readonly InputMessage[],
  writer: BatchWriter,
): void {
  for (const input of inputs) {
    if (input.kind === INPUT_COMMAND) decideCommand(ctx, header, input, writer);
  }
  for (const input of inputs) {
    if (input.kind !== INPUT_COMMAND) decideRequest(ctx, header, input, writer);
  }
}

/** What the DLQ says of a command the main thread refused (src/security/signed-events.ts). */
const REFUSED_COMMAND: Readonly<Record<InputRefusal, string>> = {
  unsigned: 'refused: no imeiflow-signature header (not signed with the cluster key); not carried out',
  'bad-signature':
    'refused: its imeiflow-signature does not verify with the cluster key (forged or altered); not carried out',
};

function decideCommand(
  ctx: DecideContext,
  header: Pick<TaskHeader, 'partition'>,
  input: InputMessage,
  writer: BatchWriter,
): void {
  // Not signed with the cluster key: not carried out, whatever it says (the main thread checked).
  const parsed =
    input.refusal === undefined
      ? parseCommand(input.value === null ? null : Buffer.from(input.value))
      : { ok: false as const, error: REFUSED_COMMAND[input.refusal] };
  if (!parsed.ok) {
    writer.dlq(
      {
        topic: ctx.config.topics.commands,
        partition: header.partition,
        offset: input.offset,
        key: keyText(input.key),
      },
      input.value,
      parsed.error,
    );
    return;
  }
  applyCommand(parsed.command, writer);
}

function decideRequest(
  ctx: DecideContext,
  header: Pick<TaskHeader, 'partition' | 'partitions'>,
  input: InputMessage,
  writer: BatchWriter,
): void {
  const { partition } = header;
  const direct = input.kind === INPUT_REQUEST;
  const value = direct ? input.value : openForwarded(input.value);
  const parsed = parseRequest(
    value,
    input.encoding === ENCODING_MSGPACK ? 'msgpack' : 'json',
    ctx.config.pipeline.maxMessageBytes,
  );
  const source = direct
    ? requestSource(partition, input.offset)
    : requestSource(input.originPartition, input.originOffset);
  if (parsed.kind === 'undecodable' || parsed.kind === 'oversized') {
    const topic = direct ? ctx.config.topics.requests : ctx.config.topics.repartition;
    writer.dlq({ topic, partition, offset: input.offset, key: keyText(input.key) }, value, parsed.error);
    // Too long to decode, but its sender can be named: answered, not only kept in the DLQ.
    if (parsed.kind === 'oversized' && parsed.requestId !== null) {
      const decision: RejectedDecision = {
        outcome: 'rejected',
        requestId: parsed.requestId,
        imei: '',
        body: null,
        reason: 'invalid_request',
        detail: parsed.error,
      };
      writer.decision(decision, null, source, input.timestamp, false);
    }
    return;
  }
  if (parsed.kind === 'invalid') {
    const decision: RejectedDecision = {
      outcome: 'rejected',
      requestId: parsed.requestId,
      imei: parsed.imei,
      body: null,
      reason: 'invalid_request',
      detail: parsed.detail,
    };
    writer.decision(decision, null, source, input.timestamp, false, parsed.operator);
    return;
  }
  const { request } = parsed;
  if (direct) {
    // Every decision about a device is made by the owner of its partition: a request that
    // arrived elsewhere is re-keyed to it, undecided (DESIGN.md §4, Delivery).
    const normalised = normaliseImei(request.imei);
    if (normalised.ok) {
      const target = devicePartition(normalised.body, header.partitions);
      if (target !== partition) {
        writer.forward(
          target,
          normalised.body,
          // Sealed (issue 22, point 3): the request holds its owner and phone.
          input.value === null ? null : sealForTopic('repartition', input.value),
          input.encoding,
          partition,
          input.offset,
          input.timestamp,
        );
        return;
      }
    }
  }
  const verdict = decide(request, source, writer.view, ctx.rules);
  writer.decision(verdict.decision, request, source, input.timestamp, verdict.replayed);
}
