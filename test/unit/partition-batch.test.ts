/**
 * One partition batch as a worker decides it (src/pool/partition-batch.ts), in-process over a real
 * LMDB store: the outputs in order, the state changes, re-keying to the device's partition,
 * storing the previous batch before deciding, deadlines from the receipt time, re-evaluation when
 * the index changes, and a replay that never confirms to БДИК twice.
 */
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicePartition } from '../../src/domain/device-partition.js';
import { luhnDigit } from '../../src/domain/imei.js';
import { DB_REGISTRY, ENCODING_MSGPACK, OP_PUT } from '../../src/pool/batch-contract.js';
import { BatchOutputs, encodeOutputs, type StateOp } from '../../src/pool/outputs-section.js';
import {
  type BatchContext,
  batchContextOf,
  requestSource,
  runBatch,
} from '../../src/pool/partition-batch.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import { bumpTacVersion, openStore, type Store } from '../../src/store/store.js';
import {
  commandInput,
  forwardedInput,
  readResult,
  requestInput,
  resultsOf,
  taskFor,
  workerSettingsWith,
} from '../support/batches.js';
import { tacRecord } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

let store: Store;
let ctx: BatchContext;
const withLuhn = (body: string) => body + String(luhnDigit(body));
const DECLARED = '35209900176148';
const UNDECLARED = '35209900176150';
const OWNER = '880101300123';
const req = (requestId: string, imei: string, extra: Record<string, unknown> = {}) => ({
  requestId,
  imei,
  operator: 'kcell',
  channel: 'import',
  ownerId: OWNER,
  ...extra,
});

beforeAll(async () => {
  store = openStore({ dataDir: join(tempDir(), 'batch') });
  await store.env.transaction(() => {
    store.tac.put('35209900', tacRecord('35209900'));
    bumpTacVersion(store);
    applyApplicationDecision(store, {
      entry: { applicationId: 'KZ-1', procedure: '40', status: 'released', hsCode: null, decidedAt: null },
      bodies: [DECLARED],
    });
  });
  ctx = batchContextOf(store, workerSettingsWith('unused', { rules: { eligibleProcedures: ['40'] } }));
});

afterAll(() => store.close());

const run = async (...args: Parameters<typeof taskFor>) => readResult(await runBatch(ctx, taskFor(...args)));

describe('a partition batch', () => {
  it('answers in order: results, the confirmation, DLQ entries; a requestId repeated is a duplicate', async () => {
    const result = await run([
      requestInput(0, req('b-1', withLuhn(DECLARED))),
      requestInput(1, null, { raw: Buffer.from('{not json'), key: 'k-1' }),
      requestInput(2, null, { raw: pack(req('b-2', withLuhn(DECLARED))), encoding: ENCODING_MSGPACK }),
      requestInput(3, req('b-1', withLuhn(DECLARED))),
    ]);
    expect(resultsOf(result)).toEqual(['b-1:confirmed', 'b-2:confirmed', 'b-1:rejected:duplicate_request']);
    // One device, one owner: БДИК hears of it once.
    expect(result.outputs.filter((o) => o.role === 'confirmations').map((o) => o.key)).toEqual([
      withLuhn(DECLARED),
    ]);
    const dlq = result.outputs.filter((o) => o.role === 'dlq');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.json).toMatchObject({ topic: 'requests', offset: 1, key: 'k-1' });
    // The outcomes and the registry entry are state changes, stored by the next batch.
    expect(result.ops.filter((o) => o.db === 'outcomes').map((o) => o.key)).toEqual(['b-1', 'b-2']);
    expect(result.ops.filter((o) => o.db === 'registry').map((o) => o.key)).toEqual([DECLARED]);
    expect(store.outcomes.get('b-1')).toBeUndefined();
  });

  it('an oversized request is answered invalid_request and kept in the DLQ (issue 20: never a crash loop)', async () => {
    const big = Buffer.from(
      JSON.stringify({ ...req('big-1', withLuhn(DECLARED)), padding: 'x'.repeat(70_000) }),
    );
    const result = await run([requestInput(9, null, { raw: big, key: 'k-big' })]);
    expect(resultsOf(result)).toEqual(['big-1:rejected:invalid_request']);
    const dlq = result.outputs.filter((o) => o.role === 'dlq');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.json).toMatchObject({ topic: 'requests', offset: 9, key: 'k-big', truncated: true });
    expect(result.ops.filter((o) => o.db === 'outcomes').map((o) => o.key)).toEqual(['big-1']);
  });

  it('re-keys a request whose device belongs to another partition, undecided', async () => {
    const partitions = 4;
    const body = ['35209900176148', '35209900176149', '35209900176150', '35209900176151'].find(
      (b) => devicePartition(b, partitions) !== 0,
    )!;
    const result = await run([requestInput(7, req('f-1', withLuhn(body)), { timestamp: 1_000 })], {
      partition: 0,
      partitions,
    });
    expect(resultsOf(result)).toEqual([]);
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]).toMatchObject({
      role: 'repartition',
      partition: devicePartition(body, partitions),
      key: body,
    });
    expect(result.ops).toEqual([]);
  });

  it('decides a forwarded request where it lands, as read from its origin', async () => {
    const result = await run([forwardedInput(3, req('f-2', withLuhn(DECLARED)), [2, 41])]);
    expect(resultsOf(result)).toEqual(['f-2:confirmed']);
    // Rule 10 identifies it by where it was first read.
    const first = await run([forwardedInput(3, req('f-2', withLuhn(DECLARED)), [2, 41])], {
      apply: [result.section],
    });
    expect(resultsOf(first)).toEqual(['f-2:confirmed']);
    expect(first.outputs.some((o) => o.role === 'confirmations')).toBe(false);
    expect(requestSource(2, 41)).toBe('2/41');
  });

  it('stores the previous batch before deciding: a device confirmed there is registered here', async () => {
    const first = await run([requestInput(10, req('s-1', withLuhn(DECLARED), { ownerId: OWNER }))]);
    const second = await run(
      [requestInput(11, req('s-2', withLuhn(DECLARED), { ownerId: '990340005977' }))],
      {
        apply: [first.section],
      },
    );
    expect(resultsOf(second)).toEqual(['s-2:review:owner_conflict']);
    expect(store.outcomes.get('s-1')).toBeDefined();
  });

  it('a waiting request runs its deadline from when it was received, not from when it was decided', async () => {
    // Received on Friday 27 November 2026, 10:00 Astana; decided on Monday after a backlog.
    const received = Date.parse('2026-11-27T05:00:00Z');
    const result = await run([requestInput(20, req('w-1', withLuhn(UNDECLARED)), { timestamp: received })], {
      now: Date.parse('2026-11-30T06:00:00Z'),
    });
    expect(resultsOf(result)).toEqual(['w-1:pending:awaiting_kgd']);
    const applied = await run([], { apply: [result.section] });
    expect(applied.outputs).toEqual([]);
    const [entry] = store.pending.get(UNDECLARED) ?? [];
    // One working day from receipt is Monday 10:00 Astana; KGD's stage ends two working hours before.
    expect(entry).toMatchObject({ since: '2026-11-27T05:00:00.000Z', deadline: '2026-11-27T13:00:00.000Z' });
  });

  it('re-evaluates waiting requests when the index changes (a decision for their application)', async () => {
    const body = '35209900176163';
    const waiting = await run([requestInput(30, req('w-2', withLuhn(body), { applicationId: 'KZ-LATE' }))]);
    expect(resultsOf(waiting)).toEqual(['w-2:pending:awaiting_kgd']);
    await run([], { apply: [waiting.section] });
    await store.env.transaction(() => {
      applyApplicationDecision(store, {
        entry: {
          applicationId: 'KZ-LATE',
          procedure: '40',
          status: 'released',
          hsCode: null,
          decidedAt: null,
        },
        bodies: [body],
      });
    });
    const settled = await run([], { dirtyApplications: ['KZ-LATE'] });
    expect(resultsOf(settled)).toEqual(['w-2:confirmed']);
    expect(settled.outputs.find((o) => o.role === 'pendingChangelog')).toMatchObject({
      key: `p/${body}`,
      bytes: null,
    });
  });

  it('a reviewer’s command settles a waiting request; a malformed command goes to the DLQ', async () => {
    const body = '35209900176171';
    const waiting = await run([requestInput(40, req('w-3', withLuhn(body)))]);
    await run([], { apply: [waiting.section] });
    const confirm = {
      type: 'review',
      body,
      requestId: 'w-3',
      decision: 'confirm',
      reason: 'papers seen',
      reviewer: 'a.n',
      issuedAt: '2026-11-23T06:00:00.000Z',
    };
    // Still waiting for KGD: a confirmation without an explicit override changes nothing.
    const refused = await run([commandInput(0, confirm)]);
    expect(resultsOf(refused)).toEqual([]);
    const result = await run([
      commandInput(1, { ...confirm, override: true }),
      commandInput(2, { type: 'nonsense' }),
    ]);
    expect(resultsOf(result)).toEqual(['w-3:confirmed']);
    expect(result.outputs.filter((o) => o.role === 'dlq')[0]!.json).toMatchObject({
      topic: 'commands',
      offset: 2,
    });
  });

  it('a command the main thread refused (no cluster-key signature) goes to the DLQ, not carried out', async () => {
    const body = '35209900176189';
    const waiting = await run([requestInput(41, req('w-4', withLuhn(body)))]);
    await run([], { apply: [waiting.section] });
    const confirm = {
      type: 'review',
      body,
      requestId: 'w-4',
      decision: 'confirm',
      reason: 'papers seen',
      reviewer: 'a.n',
      override: true,
      issuedAt: '2026-11-23T06:00:00.000Z',
    };
    const forged = await run([
      { ...commandInput(3, confirm), refusal: 'unsigned' },
      { ...commandInput(4, confirm), refusal: 'bad-signature' },
    ]);
    expect(resultsOf(forged)).toEqual([]);
    expect(forged.outputs.filter((o) => o.role === 'dlq').map((o) => o.json)).toEqual([
      expect.objectContaining({
        topic: 'commands',
        offset: 3,
        error: expect.stringContaining('not signed with the cluster key'),
      }),
      expect.objectContaining({
        topic: 'commands',
        offset: 4,
        error: expect.stringContaining('forged or altered'),
      }),
    ]);
    // The same command, signed: carried out.
    expect(resultsOf(await run([commandInput(5, confirm)]))).toEqual(['w-4:confirmed']);
  });

  it('a previous batch whose state fails midway leaves nothing of it stored: no waiting request, no subject key', async () => {
    // lmdb-js commits what an asynchronous transaction's callback wrote before it threw: the key
    // installed would then be named in the index with its slot never synced.
    const body = '35209900176192';
    const decided = await run([requestInput(30, req('x-1', withLuhn(body), { ownerId: '990340005977' }))]);
    expect(resultsOf(decided)).toEqual(['x-1:pending:awaiting_kgd']);
    const section = new BatchOutputs(decided.section);
    const ops = Array.from({ length: section.opCount }, (_, i) => section.op(i));
    // Last, a registry entry that is none: storing it throws (a TypeError, reading its IMEI) after
    // the waiting request and its owner's new key were written.
    const bad: StateOp = { db: DB_REGISTRY, op: OP_PUT, key: Buffer.from('35209900999999'), value: pack(42) };
    const keysBefore = store.subjectIndex.getKeysCount();
    await expect(run([], { apply: [encodeOutputs([], [...ops, bad])] })).rejects.toThrow(TypeError);
    expect(store.pending.get(body)).toBeUndefined();
    expect(store.subjectIndex.getKeysCount()).toBe(keysBefore);
    // The same state without it is stored, a key with it: what the failure left out was there.
    await run([], { apply: [encodeOutputs([], ops)] });
    expect(store.pending.get(body)).toHaveLength(1);
    expect(store.subjectIndex.getKeysCount()).toBeGreaterThan(keysBefore);
  });
});
