/**
 * Holes in recovery that issue 20 names, each a scenario that was red first:
 *
 * - The registry restore wrote its two checkpoints (confirmations, revocations) in two
 *   transactions: a crash between them restarted the revocations from their old checkpoint and
 *   the confirmations from their new one, and a device confirmed again after a revocation was
 *   dropped from the registry (then confirmed to БДИК a second time on its next request).
 * - Sequences restarted at 0 after an empty journal read: new positions compared below the old
 *   ones left in the output topics, and the registry's merge order put an old revocation after a
 *   new confirmation.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { luhnDigit } from '../../src/domain/imei.js';
import { POSITION_HEADER } from '../../src/pipeline/positions.js';
import { heldKey, restoredKey } from '../../src/pipeline/recovery.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import { openStore, type Store } from '../../src/store/store.js';
import { APPLE, storeKnowingApple } from '../support/fixtures.js';
import { MemoryKafka } from '../support/memory-kafka.js';
import { PipelineInstance, settle, TOPICS } from '../support/pipeline-instance.js';
import { tempDir } from '../support/tmp.js';

const root = tempDir();
const opened: Store[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
});
let n = 0;
function store(): Store {
  const s = storeKnowingApple(join(root, `store-${n++}`));
  opened.push(s);
  return s;
}

const BODY = `${APPLE}000017`;
const IMEI = BODY + String(luhnDigit(BODY));
const OWNER = '880101300123';

function confirmation(kafka: MemoryKafka, requestId: string, seq: number): void {
  kafka.append({
    topic: TOPICS.confirmations,
    partition: 0,
    key: IMEI,
    value: Buffer.from(
      JSON.stringify({
        requestId,
        imei: IMEI,
        tac: APPLE,
        brand: 'Apple',
        model: 'iPhone',
        deviceType: 'Smartphone',
        ownerId: OWNER,
        msisdn: null,
        evidence: 'manual',
        applicationId: null,
        procedure: null,
        verifiedAt: '2026-11-20T09:00:00.000Z',
      }),
    ),
    headers: [{ [POSITION_HEADER]: `${seq}.0` }],
  });
}

function revocation(kafka: MemoryKafka, seq: number): void {
  kafka.append({
    topic: TOPICS.revocations,
    partition: 0,
    key: IMEI,
    value: Buffer.from(JSON.stringify({ imei: IMEI, requestId: 'r-1', applicationId: 'KZ-1', reason: 'x' })),
    headers: [{ [POSITION_HEADER]: `${seq}.0` }],
  });
}

describe('the registry restore', () => {
  it('a crash between its checkpoints does not drop a device confirmed again after its revocation', async () => {
    const kafka = new MemoryKafka();
    confirmation(kafka, 'r-1', 1);
    const s = store();
    const instance = new PipelineInstance(kafka, s, 1);
    // This instance restored the partition and held it until a moment ago: it catches up from
    // its checkpoints instead of restoring whole.
    await instance.recover(0);
    await s.meta.put(heldKey(0), instance.now);
    // Meanwhile another owner revoked the device (seq 2) and confirmed it again (seq 3).
    revocation(kafka, 2);
    confirmation(kafka, 'r-2', 3);
    // The catch-up dies as it records where the revocations were read up to.
    const put = s.meta.put.bind(s.meta);
    let fail = true;
    s.meta.put = ((key: string, value: number) => {
      if (fail && key === restoredKey(TOPICS.revocations, 0)) {
        fail = false;
        throw new Error('injected: the process died here');
      }
      return put(key, value);
    }) as typeof s.meta.put;
    await expect(instance.recover(0)).rejects.toThrow('injected');
    // The restart catches up from what was recorded.
    await instance.recover(0);
    expect(s.registry.get(BODY)).toMatchObject({ requestId: 'r-2' });
  });
});

describe('sequences only grow', () => {
  it('after the journal is lost, the next batch is numbered past every output already published', async () => {
    const kafka = new MemoryKafka();
    confirmation(kafka, 'r-1', 7);
    revocation(kafka, 9);
    const instance = new PipelineInstance(kafka, store(), 1);
    await instance.recoverAndStart([0]);
    expect(instance.task(0).seq).toBe(9);
    // A reviewer's confirmation of a waiting request would now come at seq 10: after the
    // revocation, as it happened.
    kafka.append({
      topic: TOPICS.requests,
      partition: 0,
      key: IMEI,
      value: Buffer.from(
        JSON.stringify({ requestId: 'r-3', imei: IMEI, operator: 'beeline', channel: 'import' }),
      ),
    });
    await settle(kafka, [instance]);
    const positions = kafka
      .messages(TOPICS.results, 0)
      .map((m) => m.headers?.map((h) => h[POSITION_HEADER]?.toString()).find((p) => p !== undefined));
    expect(positions).toEqual(['10.0']);
  });
});

describe('a withdrawal whose notice was lost', () => {
  it('is carried out by the partition’s next owner (the notice lives in memory; a crash loses it)', async () => {
    const kafka = new MemoryKafka();
    const first = new PipelineInstance(kafka, store(), 1);
    const released = {
      applicationId: 'KZ-1',
      procedure: '40',
      status: 'released',
      hsCode: null,
      decidedAt: '2026-11-01T09:00:00.000Z',
    } as const;
    await first.store.env.transaction(() => {
      applyApplicationDecision(first.store, { entry: released, bodies: [BODY] });
    });
    await first.recoverAndStart([0]);
    kafka.append({
      topic: TOPICS.requests,
      partition: 0,
      key: IMEI,
      value: Buffer.from(
        JSON.stringify({
          requestId: 'r-1',
          imei: IMEI,
          operator: 'beeline',
          channel: 'import',
          ownerId: OWNER,
        }),
      ),
    });
    await settle(kafka, [first]);
    expect(kafka.messages(TOPICS.confirmations, 0)).toHaveLength(1);
    // KGD revokes; this instance's global table applies it, and the process dies before its
    // partition task hears of it.
    await first.store.env.transaction(() => {
      applyApplicationDecision(first.store, {
        entry: { ...released, status: 'revoked', decidedAt: '2026-11-20T09:00:00.000Z' },
        bodies: [],
        whole: true,
      });
    });
    first.crash();
    const next = new PipelineInstance(kafka, first.store, 1);
    await next.recoverAndStart([0]);
    await settle(kafka, [next]);
    const revocations = kafka.messages(TOPICS.revocations, 0).filter((m) => m.value !== null);
    expect(revocations.map((m) => JSON.parse(m.value!.toString('utf8')))).toEqual([
      expect.objectContaining({ imei: IMEI, applicationId: 'KZ-1' }),
    ]);
  });

  it('a store of an earlier build gets its withdrawals index from its declarations', async () => {
    const s = store();
    await s.env.transaction(() => {
      s.declarations.put(BODY, [
        { applicationId: 'KZ-9', procedure: '40', status: 'revoked', hsCode: null, decidedAt: null },
      ]);
      s.meta.remove('withdrawals-indexed');
    });
    const path = s.path.replace(/\/imeiflow\.lmdb$/, '');
    await s.close();
    opened.splice(opened.indexOf(s), 1);
    const reopened = openStore({ dataDir: path });
    opened.push(reopened);
    expect([...reopened.withdrawals.getValues(BODY)]).toEqual(['KZ-9']);
  });
});

describe('a recovery that dies after forgetting a stale copy', () => {
  it('leaves no checkpoint behind, so the next one restores the copy whole (found by the simulation, seed 895)', async () => {
    const kafka = new MemoryKafka();
    confirmation(kafka, 'r-1', 1);
    const s = store();
    const instance = new PipelineInstance(kafka, s, 1);
    // A copy of the partition, restored up to the confirmation, whose holder's time is unknown.
    await instance.recover(0);
    expect(s.registry.get(BODY)).toBeDefined();
    // The next recovery forgets the copy, then dies (restoring the waiting requests) before it
    // has restored the registry again.
    const put = s.meta.put.bind(s.meta);
    let fail = true;
    s.meta.put = ((key: string, value: number) => {
      if (fail && key === restoredKey(TOPICS.pendingChangelog, 0)) {
        fail = false;
        throw new Error('injected: the process died here');
      }
      return put(key, value);
    }) as typeof s.meta.put;
    await expect(instance.recover(0)).rejects.toThrow('injected');
    // Meanwhile the instance's time of holding the partition became known (a late write).
    await s.meta.put(heldKey(0), instance.now);
    await instance.recover(0);
    expect(s.registry.get(BODY)).toMatchObject({ requestId: 'r-1' });
  });
});
