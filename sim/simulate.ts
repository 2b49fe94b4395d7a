/**
 * `npm run simulate -- --schedules N --seed S`: run N schedules of the deterministic simulation
 * (schedule.ts) from seed S on, with a progress bar and one summary line; a failing schedule
 * prints its seed and the command that replays it (`--seed S --schedules 1`). Exits 1 on a failure.
 * `--without-machine-crashes`: no restart on a store that lost its unflushed commits, as every
 * schedule ran before those were modelled.
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind, runSchedule } from './schedule.js';

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '200' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000_000) },
    steps: { type: 'string', default: '24' },
    json: { type: 'boolean', default: false },
    // As the schedules ran before machine crashes were modelled: the seeds found then replay so.
    'without-machine-crashes': { type: 'boolean', default: false },
  },
});
const schedules = Number(values.schedules);
const first = Number(values.seed);
const steps = Number(values.steps);
if (!Number.isInteger(schedules) || schedules < 1 || !Number.isInteger(first) || !Number.isInteger(steps)) {
  process.stderr.write(
    'usage: npm run simulate -- [--schedules N] [--seed S] [--steps K] [--without-machine-crashes] [--json]\n',
  );
  process.exit(2);
}

const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
let checks = 0;
const failed: { seed: number; failures: readonly string[] }[] = [];
const started = Date.now();
let lastDraw = 0;

function draw(done: number): void {
  const now = Date.now();
  if (done < schedules && now - lastDraw < 200) return;
  lastDraw = now;
  const width = 30;
  const filled = Math.round((done / schedules) * width);
  const rate = done / Math.max(0.001, (now - started) / 1000);
  process.stderr.write(
    `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${schedules} schedules, ${failed.length} failed, ${rate.toFixed(1)}/s`,
  );
}

for (let i = 0; i < schedules; i++) {
  const seed = first + i;
  const result = await runSchedule(seed, steps, { machineCrashes: !values['without-machine-crashes'] });
  for (const kind of FAULT_KINDS) faults[kind] += result.faults[kind];
  checks += result.checks;
  if (result.failures.length > 0) {
    failed.push({ seed, failures: result.failures });
    process.stderr.write(
      `\nschedule ${seed} failed:\n  ${result.failures.slice(0, 10).join('\n  ')}\n  replay: npm run simulate -- --seed ${seed} --schedules 1 --steps ${steps}${values['without-machine-crashes'] ? ' --without-machine-crashes' : ''}\n`,
    );
  }
  draw(i + 1);
}
process.stderr.write('\n');
const seconds = (Date.now() - started) / 1000;
const summary = {
  schedules,
  firstSeed: first,
  steps,
  failed: failed.length,
  failedSeeds: failed.map((f) => f.seed),
  invariantChecks: checks,
  faults,
  seconds: Math.round(seconds * 10) / 10,
};
process.stdout.write(
  values.json
    ? `${JSON.stringify(summary)}\n`
    : `${schedules} schedules from seed ${first} in ${summary.seconds} s: ${failed.length} failed; ${checks} invariant checks; faults ${FAULT_KINDS.map((k) => `${k} ${faults[k]}`).join(', ')}\n`,
);
process.exit(failed.length > 0 ? 1 : 0);
