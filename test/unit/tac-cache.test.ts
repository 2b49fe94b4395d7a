/**
 * `pool.tacCacheEntries` (src/config/settings.ts): how many TACs a verify worker keeps in memory.
 * From its variable to the worker's configuration, as a structured clone carries it across the
 * thread boundary, and from there to the bound the worker's index view keeps.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { workerSettings } from '../../src/config/worker-settings.js';
import { batchContextOf } from '../../src/pool/partition-batch.js';
import { openStore, type Store } from '../../src/store/store.js';
import { workerSettingsWith } from '../support/batches.js';
import { tempDir } from '../support/tmp.js';

let store: Store;
beforeAll(() => {
  store = openStore({ dataDir: join(tempDir(), 'tac-cache') });
});
afterAll(() => store.close());

/** Looks up `count` distinct TACs, then the first again: whether that one was read from the store. */
function firstReadAgain(entries: number, count: number): boolean {
  const { index } = batchContextOf(
    store,
    workerSettingsWith('unused', { pool: { tacCacheEntries: entries } }),
  );
  index.refresh();
  const tacs = Array.from({ length: count }, (_, i) => String(10_000_000 + i));
  for (const tac of tacs) index.tac(tac);
  const reads = vi.spyOn(store.tac, 'get');
  try {
    index.tac(tacs[0]!);
    return reads.mock.calls.length > 0;
  } finally {
    reads.mockRestore();
  }
}

describe('the TAC cache of a verify worker', () => {
  it('is sized by IMEIFLOW_TAC_CACHE_ENTRIES, in the configuration the workers get', () => {
    const config = loadConfig({ env: { IMEIFLOW_TAC_CACHE_ENTRIES: '2000' } });
    expect(structuredClone(workerSettings(config)).config.pool).toEqual({ tacCacheEntries: 2000 });
    expect(loadConfig({ env: {} }).pool.tacCacheEntries).toBe(500_000);
    expect(() => loadConfig({ env: { IMEIFLOW_TAC_CACHE_ENTRIES: '10' } })).toThrow(
      /IMEIFLOW_TAC_CACHE_ENTRIES/,
    );
  });

  it('keeps at most that many TACs: past it, it starts over', () => {
    expect(firstReadAgain(2000, 1500)).toBe(false);
    expect(firstReadAgain(1000, 1500)).toBe(true);
  });
});
