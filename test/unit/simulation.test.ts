/**
 * The deterministic simulation (sim/, docs/simulation.md) in the unit suite: a fixed budget of
 * schedules from fixed seeds, and the seeds that found holes, replayed as named scenarios. Any
 * failure prints the seed; `npm run simulate -- --seed S --schedules 1` replays it, and
 * IMEIFLOW_SIM_TRACE=1 shows its steps and every message.
 */
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, type FaultKind, runSchedule } from '../../sim/schedule.js';

/**
 * Seeds that were red before their fix (issue 20), with what they found: replayed as they ran
 * then, before restarts on a store that lost its unflushed commits were modelled.
 */
const FOUND: readonly [number, string][] = [
  [
    15,
    'a failed forward followed by a delivered one left a gap: a request lost (producer without gapless guarantee)',
  ],
  [5, 'a revocation whose notice a crash lost: the device stayed registered (no sweep of withdrawals)'],
  [12, 'idem, with the owner moved by a rebalance'],
];

describe('the simulation', () => {
  it.each(FOUND)('seed %i: %s', async (seed) => {
    const result = await runSchedule(seed, 24, { machineCrashes: false });
    expect(
      result.failures,
      `replay: npm run simulate -- --seed ${seed} --schedules 1 --without-machine-crashes`,
    ).toEqual([]);
  });

  it('a fixed budget of schedules keeps every invariant', async () => {
    const failed: string[] = [];
    let faults = 0;
    const byKind = new Map<FaultKind, number>();
    for (let seed = 100_000; seed < 100_400; seed++) {
      const result = await runSchedule(seed);
      faults += Object.values(result.faults).reduce((a, b) => a + b, 0);
      for (const kind of FAULT_KINDS) byKind.set(kind, (byKind.get(kind) ?? 0) + result.faults[kind]);
      if (result.failures.length > 0)
        failed.push(
          `seed ${seed} (npm run simulate -- --seed ${seed} --schedules 1): ${result.failures.join('; ')}`,
        );
    }
    expect(failed).toEqual([]);
    // The schedules did inject faults: a simulation that injects none proves nothing.
    expect(faults).toBeGreaterThan(3000);
    // And every kind of them: a fault the harness silently stopped injecting would prove nothing.
    expect(FAULT_KINDS.filter((kind) => (byKind.get(kind) ?? 0) === 0)).toEqual([]);
    // A budget of schedules, not of time: the default limit is for one test's waits. Each
    // schedule's batches are tiny, and each that makes a subject key syncs the key file before
    // its transaction commits (issue 22, point 3).
  }, 300_000);
});
