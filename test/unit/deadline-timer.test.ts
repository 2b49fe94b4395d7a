import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Command } from '../../src/domain/commands.js';
import { createLogger } from '../../src/log.js';
import { DeadlineTimer } from '../../src/pipeline/deadline-timer.js';
import { openStore } from '../../src/store/store.js';
import { waitingEntry } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const store = openStore({ dataDir: join(dir, 'deadlines') });
afterAll(() => store.close());

describe('deadline timer', () => {
  it('sweeps every device in steps, letting the event loop run between them', async () => {
    // 2 500 devices: every 5th past its deadline; of those, partition 3 is not ours.
    await store.env.transaction(() => {
      for (let i = 0; i < 2_500; i++) {
        const deadline = i % 5 === 0 ? '2026-11-21T04:00:00.000Z' : '2026-11-30T04:00:00.000Z';
        store.pending.put(String(10_000_000_000_000 + i), [waitingEntry(i, i % 4, 'awaiting_kgd', deadline)]);
      }
      store.pending.put('99999999999999', [waitingEntry(9_999, 0, 'review')]);
    });
    const sent: Command[] = [];
    const timer = new DeadlineTimer({
      store,
      commands: { send: async (commands) => void sent.push(...commands) },
      log: createLogger('error'),
      intervalMs: 60_000,
      ownedPartitions: () => [0, 1, 2],
      chunk: 300,
    });
    // Count the turns of the event loop the sweep leaves to others: one per step of 300.
    let turns = 0;
    let sweeping = true;
    const tick = (): void => {
      turns++;
      if (sweeping) setImmediate(tick);
    };
    setImmediate(tick);
    const count = await timer.sweep(new Date('2026-11-23T10:00:00.000Z'));
    sweeping = false;
    expect(turns).toBeGreaterThanOrEqual(Math.floor(2_501 / 300));
    const expected = Array.from({ length: 2_500 }, (_, i) => i).filter((i) => i % 5 === 0 && i % 4 !== 3);
    expect(count).toBe(expected.length);
    expect([...sent].sort((a, b) => (a.body < b.body ? -1 : 1))).toEqual(
      expected.map((i) => ({
        type: 'deadline',
        body: String(10_000_000_000_000 + i),
        requestId: `r-${i}`,
        issuedAt: '2026-11-23T10:00:00.000Z',
      })),
    );
    // Sent once: a sweep a minute later does not send them again.
    expect(await timer.sweep(new Date('2026-11-23T10:00:30.000Z'))).toBe(0);
  });
});
