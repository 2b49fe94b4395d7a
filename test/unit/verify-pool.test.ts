import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchMessage, ENCODING_JSON } from '../../src/pool/batch-contract.js';
import { VerifyPool } from '../../src/pool/verify-pool.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import { bumpTacVersion, openStore, type Store } from '../../src/store/store.js';
import { tempDir } from '../support/tmp.js';

const dataDir = join(tempDir(), 'pool');
let store: Store;
let pool: VerifyPool;

const request = (requestId: string, imei: string): BatchMessage => [
  Buffer.from(JSON.stringify({ requestId, imei, operator: 'beeline', channel: 'import' })),
  ENCODING_JSON,
  1,
  Number(requestId.slice(1)),
  null,
];

beforeAll(async () => {
  store = openStore({ dataDir });
  await store.env.transaction(() => {
    store.tac.put('35209900', {
      tac: '35209900',
      brand: 'Apple',
      model: 'iPhone 6',
      marketingName: 'iPhone 6',
      manufacturer: 'Apple Inc',
      deviceType: 'Smartphone',
      operatingSystem: 'iOS',
      bands: '',
      allocationDate: null,
    });
    bumpTacVersion(store);
    applyApplicationDecision(store, {
      entry: { applicationId: 'A', procedure: '40', status: 'released', hsCode: null, decidedAt: null },
      bodies: ['35209900176148'],
    });
  });
  pool = new VerifyPool({
    workers: 2,
    maxQueuedBatchesPerWorker: 2,
    settings: { dataDir, eligibleProcedures: ['40'], maxMessageBytes: 65536 },
  });
});

afterAll(async () => {
  await pool.close();
  await store.close();
});

describe('VerifyPool (real worker threads over the LMDB store)', () => {
  it('decides a batch in input order', async () => {
    const results = await pool.verify({
      now: Date.now(),
      topic: 'requests',
      messages: [request('r1', '352099001761481'), request('r2', '35209900176149'), request('r3', '111')],
    });
    expect(results.map((r) => (r.kind === 'verdict' ? r.decision.outcome : r.kind))).toEqual([
      'confirmed',
      'pending',
      'rejected',
    ]);
  });

  it("sees the main thread's later writes, including a new TAC table", async () => {
    const before = await pool.verify({
      now: Date.now(),
      topic: 'requests',
      messages: [request('r4', '35332811000001')],
    });
    expect(before[0]).toMatchObject({ decision: { reason: 'tac_unknown' } });
    await store.env.transaction(() => {
      store.tac.put('35332811', {
        tac: '35332811',
        brand: 'Samsung',
        model: 'A52',
        marketingName: 'Galaxy A52',
        manufacturer: 'Samsung',
        deviceType: 'Smartphone',
        operatingSystem: 'Android',
        bands: '',
        allocationDate: null,
      });
      bumpTacVersion(store);
    });
    // Both workers must have dropped their TAC caches: run enough batches to reach each.
    const after = await Promise.all(
      [5, 6, 7, 8].map((i) =>
        pool.verify({ now: Date.now(), topic: 'requests', messages: [request(`r${i}`, '35332811000001')] }),
      ),
    );
    for (const results of after) expect(results[0]).toMatchObject({ decision: { outcome: 'pending' } });
  });

  it('runs thousands of messages across both workers and keeps each batch in order', async () => {
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 500 }, (_, i) =>
        request(`r${1000 + b * 500 + i}`, i % 2 === 0 ? '352099001761481' : 'bad'),
      ),
    );
    // Submit as a pipeline would: wait for `drain` whenever the pool says it is full.
    const pending: Promise<unknown>[] = [];
    for (const messages of batches) {
      if (pool.needsDrain) await new Promise((resolve) => pool.once('drain', resolve));
      pending.push(pool.verify({ now: Date.now(), topic: 'requests', messages }));
    }
    const all = (await Promise.all(pending)) as Awaited<ReturnType<VerifyPool['verify']>>[];
    all.forEach((results, b) => {
      expect(results).toHaveLength(500);
      results.forEach((r, i) => {
        expect(r).toMatchObject({ kind: 'verdict', decision: { requestId: `r${1000 + b * 500 + i}` } });
      });
    });
  });
});

describe('VerifyPool backpressure', () => {
  it('refuses a batch beyond its queue bound instead of queueing without limit', async () => {
    const small = new VerifyPool({
      workers: 1,
      maxQueuedBatchesPerWorker: 1,
      settings: { dataDir, eligibleProcedures: ['40'], maxMessageBytes: 65536 },
    });
    const messages = Array.from({ length: 2000 }, (_, i) => request(`q${i}`, '352099001761481'));
    const runs = [0, 1, 2, 3].map(() =>
      small.verify({ now: Date.now(), topic: 'requests', messages }).then(
        () => 'ok',
        (e: Error & { code?: string }) => e.code,
      ),
    );
    const outcomes = await Promise.all(runs);
    expect(outcomes).toContain('POOL_QUEUE_FULL');
    expect(outcomes[0]).toBe('ok');
    await small.close();
  });
});
