import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import { openStore } from '../../src/store/store.js';
import { waitingEntry } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

const store = openStore({ dataDir: join(tempDir(), 'metrics') });
afterAll(() => store.close());

function gauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

describe('metrics', () => {
  it('counts the waiting requests of the owned partitions, by stage, across scan steps', async () => {
    // 2 500 devices (more than one scan step): every 10th in review; partition 3 is not ours.
    await store.env.transaction(() => {
      for (let i = 0; i < 2_500; i++) {
        store.pending.put(String(10_000_000_000_000 + i), [
          waitingEntry(i, i % 4, i % 10 === 0 ? 'review' : 'awaiting_kgd'),
        ]);
      }
    });
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.sources.store = store;
    metrics.sources.ownedPartitions = () => [0, 1, 2];
    const text = await metrics.registry.metrics();
    const owned = Array.from({ length: 2_500 }, (_, i) => i).filter((i) => i % 4 !== 3);
    expect(gauge(text, 'imeiflow_review_requests')).toBe(owned.filter((i) => i % 10 === 0).length);
    expect(gauge(text, 'imeiflow_pending_requests')).toBe(owned.filter((i) => i % 10 !== 0).length);
  });
});
