import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { VerifyPool, workerResourceLimits } from '../../src/pool/verify-pool.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import { bumpTacVersion, openStore, type Store } from '../../src/store/store.js';
import {
  readResult,
  requestInput,
  resultsOf,
  TEST_WORKER_SETTINGS,
  taskFor,
  workerSettingsWith,
} from '../support/batches.js';
import { tacRecord } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

const dataDir = join(tempDir(), 'pool');
let store: Store;
let pool: VerifyPool;

const request = (requestId: string, imei: string, operator = 'beeline') =>
  requestInput(Number(requestId.slice(1)), { requestId, imei, operator, channel: 'import' });
const run = async (p: VerifyPool, inputs: ReturnType<typeof request>[]) =>
  resultsOf(readResult(await p.run(taskFor(inputs))));

beforeAll(async () => {
  store = openStore({ dataDir });
  await store.env.transaction(() => {
    store.tac.put('35209900', tacRecord('35209900'));
    bumpTacVersion(store);
    applyApplicationDecision(store, {
      entry: { applicationId: 'A', procedure: '40', status: 'released', hsCode: null, decidedAt: null },
      bodies: ['35209900176148'],
    });
  });
  pool = new VerifyPool({
    workers: 2,
    maxQueuedBatchesPerWorker: 2,
    youngGenerationMb: 64,
    settings: workerSettingsWith(dataDir, { rules: { spareDigit: { operators: ['kcell'], channels: [] } } }),
  });
});

afterAll(async () => {
  await pool.close();
  await store.close();
});

describe("a verify worker's young generation", () => {
  it("is what IMEIFLOW_WORKER_YOUNG_GENERATION_MB says (0: V8's own)", () => {
    expect(loadConfig({ env: {} }).pool.youngGenerationMb).toBe(192);
    const sized = loadConfig({ env: { IMEIFLOW_WORKER_YOUNG_GENERATION_MB: '64' } });
    expect(workerResourceLimits(sized.pool.youngGenerationMb)).toEqual({
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    });
    const own = loadConfig({ env: { IMEIFLOW_WORKER_YOUNG_GENERATION_MB: '0' } });
    expect(workerResourceLimits(own.pool.youngGenerationMb)).toEqual({});
    expect(() => loadConfig({ env: { IMEIFLOW_WORKER_YOUNG_GENERATION_MB: '-1' } })).toThrow();
  });
});

describe('VerifyPool (real worker threads over the LMDB store)', () => {
  it('decides a batch in input order', async () => {
    const results = await run(pool, [
      request('r1', '352099001761481'),
      request('r2', '35209900176149'),
      request('r3', '111'),
    ]);
    expect(results).toEqual(['r1:confirmed', 'r2:pending:awaiting_kgd', 'r3:rejected:malformed_imei']);
  });

  it('the workers take network-derived IMEIs (a spare 15th digit 0) from the operators configured', async () => {
    const result = readResult(
      await pool.run(
        taskFor([request('r11', '352099001761480', 'kcell'), request('r12', '352099001761480', 'beeline')]),
      ),
    );
    expect(
      result.outputs.filter((o) => o.role === 'results').map((o) => [o.json!['outcome'], o.json!['imei']]),
    ).toEqual([
      ['confirmed', '352099001761481'],
      ['rejected', '352099001761480'],
    ]);
  });

  it("sees the main thread's later writes, including a new TAC table", async () => {
    expect(await run(pool, [request('r4', '35332811000001')])).toEqual(['r4:rejected:tac_unknown']);
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
    const after = await Promise.all([5, 6, 7, 8].map((i) => run(pool, [request(`r${i}`, '35332811000001')])));
    expect(after).toEqual([5, 6, 7, 8].map((i) => [`r${i}:pending:awaiting_kgd`]));
  });

  it('runs thousands of messages across both workers and keeps each batch in order', async () => {
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 500 }, (_, i) =>
        request(`r${1000 + b * 500 + i}`, i % 2 === 0 ? '352099001761481' : 'bad'),
      ),
    );
    // Submit as a pipeline would: wait for `drain` whenever the pool says it is full.
    const pending: Promise<string[]>[] = [];
    for (const messages of batches) {
      if (pool.needsDrain) await new Promise((resolve) => pool.once('drain', resolve));
      pending.push(run(pool, messages));
    }
    const all = (await Promise.all(pending)) as string[][];
    all.forEach((results, b) => {
      expect(results).toHaveLength(500);
      results.forEach((r, i) => {
        expect(r.split(':')[0]).toBe(`r${1000 + b * 500 + i}`);
      });
    });
  });
});

describe('VerifyPool backpressure', () => {
  it('refuses a batch beyond its queue bound instead of queueing without limit', async () => {
    const small = new VerifyPool({
      workers: 1,
      maxQueuedBatchesPerWorker: 1,
      settings: TEST_WORKER_SETTINGS(dataDir),
    });
    const messages = Array.from({ length: 2000 }, (_, i) => request(`q${i}`, '352099001761481'));
    const runs = [0, 1, 2, 3].map(() =>
      small.run(taskFor(messages)).then(
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
