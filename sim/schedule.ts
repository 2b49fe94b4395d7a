/**
 * One schedule: from a seed, a workload (requests, some sent to the wrong partition, KGD's
 * decisions) and a sequence of scheduler decisions, each a step the cluster is then let settle
 * after: deliveries released in any order across partitions, single deliveries failed, instances
 * crashed between steps or in the middle of their deliveries and restarted on their own store (as
 * the process left it, or as the machine's last flush did) or an empty one, graceful rebalances
 * among two or three instances, global tables lagging per instance, short fetches, changelogs
 * compacted, unreadable records on internal topics. Then the network heals, every instance
 * catches up, KGD revokes, and the invariants are checked — against the same workload run
 * without faults.
 */
import type { DeclarationEntry } from '../src/domain/types.js';
import { decodeJournal, journalKey } from '../src/pipeline/journal.js';
import { OUTPUT_ROLES } from '../src/pool/batch-contract.js';
import { TOPICS } from '../test/support/pipeline-instance.js';
import {
  alternatingRecords,
  bdikRecords,
  finalOutcomes,
  noWaitingLost,
  oneFinalOutcome,
  registeredDevices,
  resultsOnOwnTopic,
  sameAsFaultFree,
  tablesEqual,
} from './invariants.js';
import { Rng } from './random.js';
import {
  type DecisionEvent,
  type RequestEvent,
  SIM_OPERATORS,
  SIM_RESULTS,
  type SimInstance,
  simDevices,
  World,
} from './world.js';

export const FAULT_KINDS = [
  'reorder',
  'crash',
  'crash-mid-delivery',
  'failed-delivery',
  'restart-same-store',
  'restart-empty-store',
  'restart-flushed-store',
  'rebalance',
  'tables-lag',
  'short-fetch',
  'compaction',
  'unreadable-record',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ScheduleResult {
  readonly seed: number;
  readonly failures: readonly string[];
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** Invariant checks made (each invariant once per schedule). */
  readonly checks: number;
  readonly steps: number;
}

const PARTITIONS = 2;
/**
 * IMEIFLOW_SIM_TRACE=1: every step and fault on stderr, to follow a replayed seed;
 * IMEIFLOW_SIM_TRACE=<seed>: only that schedule's, in a longer run.
 */
const TRACE_SETTING = process.env['IMEIFLOW_SIM_TRACE'];
let TRACE = false;
/** Kept in memory and printed only if the schedule fails: writing as it goes would change its timing. */
let traced: string[] = [];
function trace(what: string): void {
  if (TRACE) traced.push(`  · ${what}`);
}
const OWNER = '880101300123';

interface Workload {
  /** Devices the revocation withdraws. */
  readonly revokedDevices: string[];
  readonly initial: DecisionEvent[];
  readonly late: DecisionEvent[];
  readonly revocation: DecisionEvent;
  readonly requests: RequestEvent[];
}

const entry = (
  applicationId: string,
  status: DeclarationEntry['status'],
  decidedAt: string,
): DeclarationEntry => ({
  applicationId,
  procedure: '40',
  status,
  hsCode: null,
  decidedAt,
});

/** Devices released at once, released late, refused, and never decided; requests for them. */
function workload(rng: Rng, partitionOf: (device: string) => number): Workload {
  const devices = simDevices(8, 10_000 + rng.int(1_000) * 10);
  const released = devices.slice(0, 3);
  const late = devices.slice(3, 5);
  const refused = devices.slice(5, 6);
  const body = (d: string) => d.slice(0, 14);
  const requests: RequestEvent[] = [];
  const count = 6 + rng.int(8);
  for (let i = 0; i < count; i++) {
    const device = rng.pick(devices);
    const home = partitionOf(device);
    // A third go to another partition: the re-keying hop forwards them to the device's owner.
    const partition = rng.chance(0.33) ? (home + 1 + rng.int(PARTITIONS - 1)) % PARTITIONS : home;
    // Operators in turn, not drawn: a seed's schedule stays the one it was before operators had topics.
    const operator = SIM_OPERATORS[i % SIM_OPERATORS.length]!;
    requests.push({ requestId: `r-${i}`, device, partition, ownerId: OWNER, operator });
  }
  return {
    initial: [
      { entry: entry('KZ-SIM-A', 'released', '2026-11-01T09:00:00.000Z'), bodies: released.map(body) },
      { entry: entry('KZ-SIM-R', 'refused', '2026-11-01T09:00:00.000Z'), bodies: refused.map(body) },
    ],
    late: [{ entry: entry('KZ-SIM-L', 'released', '2026-11-05T09:00:00.000Z'), bodies: late.map(body) }],
    // KGD revokes the first application at the end: every device it proved is withdrawn once.
    revocation: { entry: entry('KZ-SIM-A', 'revoked', '2026-11-20T09:00:00.000Z'), bodies: [] },
    requests,
    revokedDevices: released,
  };
}

/** The same workload without a fault: one instance, deliveries as they come. */
async function faultFree(work: Workload): Promise<{ finals: Map<string, string>; registered: string[] }> {
  const world = new World(PARTITIONS, false, 4);
  try {
    const only = world.addInstance('reference');
    world.decisions.push(...work.initial);
    await world.applyDecisions(only, world.decisions.length);
    await world.rebalance([only]);
    for (const request of work.requests) world.send(request);
    await world.settle();
    world.decisions.push(...work.late);
    await world.applyDecisions(only, world.decisions.length);
    await world.settle();
    world.decisions.push(work.revocation);
    await world.applyDecisions(only, world.decisions.length);
    await world.settle();
    return {
      finals: finalOutcomes(world.kafka, PARTITIONS),
      registered: registeredDevices(bdikRecords(world.kafka, PARTITIONS)),
    };
  } finally {
    await world.close();
  }
}

/** Something imeiflow never writes, on a topic it reads back. */
function unreadable(world: World, rng: Rng): void {
  const topic = rng.pick([TOPICS.journal, TOPICS.pendingChangelog, TOPICS.confirmations]);
  const partition = rng.int(PARTITIONS);
  world.kafka.append({
    topic,
    partition,
    key: topic === TOPICS.journal ? journalKey(partition, 999_999) : 'not a key',
    value: Buffer.from(rng.pick(['not json', '\u00c1\u00c1', '{"imei":"1"}'])),
  });
}

export interface ScheduleOptions {
  /**
   * Restarts on a store as the machine's last flush left it (default true). Off, a seed found
   * before they were modelled replays the schedule that found it (test/unit/simulation.test.ts).
   */
  readonly machineCrashes?: boolean;
}

export async function runSchedule(
  seed: number,
  steps = 24,
  options: ScheduleOptions = {},
): Promise<ScheduleResult> {
  const machineCrashes = options.machineCrashes ?? true;
  TRACE = TRACE_SETTING === '1' || TRACE_SETTING === String(seed);
  traced = [];
  const rng = new Rng(seed);
  // Machine crashes draw from a stream of their own: where they inject nothing, a seed's schedule
  // is the one it was before they were modelled (the seeds in test/unit/simulation.test.ts).
  const machine = new Rng(seed ^ 0x5bd1e995);
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const readBatch = 1 + rng.int(4);
  if (readBatch < 4) faults['short-fetch']++;
  const world = new World(PARTITIONS, true, readBatch);
  world.onTrace = trace;
  const partitionOf = (device: string) => world.devicePartitionOf(device);
  const work = workload(rng, partitionOf);
  const failures: string[] = [];
  try {
    const count = 2 + rng.int(2);
    for (let i = 0; i < count; i++) world.addInstance(`i${i}`);
    world.decisions.push(...work.initial);
    for (const instance of world.instances) await world.applyDecisions(instance, world.decisions.length);
    await world.rebalance(world.instances);

    let sent = 0;
    const lateAt = rng.int(steps);
    // KGD's revocation comes in the middle of the faults in half the schedules, else at the end.
    const revokeAt = rng.chance(0.5) ? rng.int(steps) : steps;
    const dead = (): SimInstance[] => world.instances.filter((i) => !i.alive);
    for (let step = 0; step < steps; step++) {
      // Inputs: a request or two; KGD's late decision reaches the cluster once.
      for (let n = rng.int(3); n > 0 && sent < work.requests.length; n--) world.send(work.requests[sent++]!);
      if (step === lateAt) world.decisions.push(...work.late);
      if (step === revokeAt) world.decisions.push(work.revocation);
      // Each instance's global tables are somewhere between where they were and the end.
      for (const instance of world.alive) {
        const upTo = instance.applied + rng.int(world.decisions.length - instance.applied + 1);
        if (upTo < world.decisions.length) faults['tables-lag']++;
        await world.applyDecisions(instance, upTo);
      }
      trace(`step ${step}: ${sent} sent, ${world.alive.map((i) => `${i.name}[${i.owned}]`).join(' ')}`);
      if (TRACE)
        for (const i of world.instances)
          trace(
            `  ${i.name} registry ${[...i.store.registry.getKeys()].join(',')} meta ${[
              ...i.store.meta.getRange(),
            ]
              .filter(({ key }) => key.startsWith('restored/') || key.startsWith('held/'))
              .map(({ key, value }) => `${key}=${value}`)
              .join(' ')}`,
          );
      await fault(world, rng, faults, dead, machine);
      await world.settle();
      // Some stores' background syncs catch up: what a machine crash would bring them back to.
      // Half of them in the middle of the deliveries' work (a batch stored, its checkpoint not yet,
      // a recovery half done), half once it settled.
      const flushing = machineCrashes ? world.alive.filter(() => machine.chance(0.2)) : [];
      const midway = flushing.filter(() => machine.chance(0.5));
      const turn = 1 + machine.int(2);
      // Deliveries: some of what is held, partitions in any order.
      release(world, rng, faults);
      if (midway.length === 0) await world.settle();
      else
        await world.settle(turn, async () => {
          for (const instance of midway) if (instance.alive) await world.markFlushed(instance);
        });
      for (const instance of flushing)
        if (instance.alive && !midway.includes(instance)) await world.markFlushed(instance);
    }
    while (sent < work.requests.length) world.send(work.requests[sent++]!);
    if (lateAt >= steps) world.decisions.push(...work.late);

    trace('heal');
    // Heal: the network whole, every process back, every table caught up, a last rebalance.
    world.releaseAll();
    for (const instance of dead()) await restart(world, instance, false, machine, faults, true);
    world.releaseAll();
    for (const instance of world.instances) await world.applyDecisions(instance, world.decisions.length);
    await world.rebalance(world.instances);
    await world.settle();
    if (revokeAt >= steps) {
      world.decisions.push(work.revocation);
      for (const instance of world.instances) await world.applyDecisions(instance, world.decisions.length);
      await world.settle();
    }
    for (const instance of world.instances)
      if (!instance.alive)
        failures.push(
          `${instance.name} died after healing: ${instance.pipeline.fatal[0]?.message ?? 'crashed'}`,
        );

    const ownerOf = (partition: number) => world.instances.find((i) => i.owned.includes(partition));
    failures.push(...oneFinalOutcome(world.kafka, PARTITIONS, work.requests));
    failures.push(...resultsOnOwnTopic(world.kafka, PARTITIONS, work.requests));
    failures.push(...alternatingRecords(world.kafka, PARTITIONS));
    failures.push(...noWaitingLost(world.kafka, PARTITIONS, work.requests, ownerOf, partitionOf));
    failures.push(...tablesEqual(world.instances));
    const reference = await faultFree(work);
    // A request for a device the revocation concerns may come before or after it, as the faults
    // moved it: its outcome may differ, never the device's last state (registered or not).
    const revoked = new Set(work.revocation.entry.applicationId === 'KZ-SIM-A' ? work.revokedDevices : []);
    const comparable = (finals: Map<string, string>) =>
      new Map(
        [...finals].filter(
          ([id]) => !revoked.has(work.requests.find((r) => r.requestId === id)?.device ?? ''),
        ),
      );
    failures.push(
      ...sameAsFaultFree(
        {
          finals: comparable(finalOutcomes(world.kafka, PARTITIONS)),
          registered: registeredDevices(bdikRecords(world.kafka, PARTITIONS)),
        },
        { finals: comparable(reference.finals), registered: reference.registered },
      ),
    );
    if (TRACE && failures.length > 0) {
      dump(world);
      process.stderr.write(`${traced.join('\n')}\n`);
    }
  } catch (error) {
    failures.push(
      `the schedule threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  } finally {
    await world.close();
  }
  return { seed, failures, faults, checks: 5, steps };
}

/** A journal record as the trace shows it: its seq, positions and outputs by role. */
function journalSummary(value: Buffer | null): string {
  if (value === null) return 'null';
  try {
    const record = decodeJournal(value);
    const roles: string[] = [];
    for (let i = 0; i < record.outputs.outputCount; i++)
      roles.push(OUTPUT_ROLES[record.outputs.role(i) as number] ?? '?');
    return `seq ${record.seq} inputs ${JSON.stringify(record.inputs)} outputs ${roles.join(',')}`;
  } catch (error) {
    return `unreadable: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Every message of the device topics and outputs, for a failing seed replayed with the trace on. */
function dump(world: World): void {
  const topics = [
    TOPICS.requests,
    TOPICS.repartition,
    TOPICS.commands,
    TOPICS.journal,
    TOPICS.results,
    ...SIM_RESULTS.topics.byTenant.values(),
    TOPICS.confirmations,
    TOPICS.revocations,
    TOPICS.pendingChangelog,
  ];
  for (const topic of topics) {
    for (let p = 0; p < world.partitions; p++) {
      for (const m of world.kafka.messages(topic, p)) {
        const headers = (m.headers ?? [])
          .map((h) => Object.entries(h).map(([k, v]) => `${k}=${v}`))
          .join(' ');
        const value =
          topic === TOPICS.journal
            ? journalSummary(m.value)
            : topic === TOPICS.pendingChangelog
              ? `${m.value?.length ?? 0} bytes`
              : (m.value?.toString('utf8') ?? 'null');
        trace(`${topic}[${p}]@${m.offset} key=${m.key?.toString() ?? ''} ${headers} ${value.slice(0, 160)}`);
      }
    }
  }
  for (const instance of world.instances) {
    trace(
      `${instance.name} alive=${instance.alive} owns ${instance.owned} applied ${instance.applied}/${world.decisions.length} withdrawals ${[...instance.store.withdrawals.getKeys()].join(',')} registry ${[...instance.store.registry.getKeys()].join(',')}`,
    );
    for (const { key, value } of instance.store.declarations.getRange())
      trace(
        `${instance.name} declarations ${key}: ${value.map((e) => `${e.applicationId}/${e.status}`).join(',')}`,
      );
    for (const { key, value } of instance.store.pending.getRange())
      trace(
        `${instance.name} pending ${key}: ${value.map((e) => `${e.request.requestId}/${e.stage}`).join(',')}`,
      );
  }
}

/** Let some held deliveries go: a few partitions, each a few messages, in the order picked. */
function release(world: World, rng: Rng, faults: Record<FaultKind, number>): void {
  for (const instance of world.alive) {
    const producer = instance.pipeline.producer;
    const held = producer.heldPartitions();
    if (held.length > 1) faults.reorder++;
    for (let n = rng.int(held.length + 2) * 3; n > 0; n--) {
      const ids = producer.heldPartitions();
      if (ids.length === 0) break;
      producer.release(rng.pick(ids));
    }
  }
}

/**
 * A dead instance comes back: on an empty store (`fresh`), or on its own — as its process left it,
 * or, when its machine crashed (half the time, if its store has been flushed since it was opened),
 * as the last flush left it: the commits after that lost, the key file whole.
 */
async function restart(
  world: World,
  instance: SimInstance,
  fresh: boolean,
  machine: Rng,
  faults: Record<FaultKind, number>,
  healing = false,
): Promise<void> {
  const flushed = !fresh && instance.flushed?.of === instance.store && machine.chance(0.5);
  const store = fresh ? 'empty' : flushed ? 'flushed' : 'same';
  const { lost } = await world.restart(instance, store);
  trace(
    `restart ${instance.name} on ${fresh ? 'an empty store' : flushed ? `its store as last flushed (${lost} commits lost)` : 'its own store'}`,
  );
  // A flush that had caught up with every commit leaves the store as a process crash does. The
  // heal's restarts are not faults, unless the machine's crash lost commits.
  const kind = fresh ? 'restart-empty-store' : lost > 0 ? 'restart-flushed-store' : 'restart-same-store';
  if (!healing || kind === 'restart-flushed-store') faults[kind]++;
}

/** At most one fault per step, by the seed. */
async function fault(
  world: World,
  rng: Rng,
  faults: Record<FaultKind, number>,
  dead: () => SimInstance[],
  machine: Rng,
): Promise<void> {
  const roll = rng.next();
  const alive = world.alive;
  if (roll < 0.08 && alive.length > 1) {
    const victim = rng.pick(alive);
    trace(`crash ${victim.name}`);
    world.crash(victim);
    faults.crash++;
  } else if (roll < 0.14 && alive.length > 1) {
    // It dies after a few more of its messages get out: mid-batch, mid-recovery, mid-publish.
    const victim = rng.pick(alive);
    trace(`crash ${victim.name} after a few more deliveries`);
    victim.pipeline.producer.crashAfter(rng.int(4));
    release(world, rng, faults);
    await world.settle();
    world.crash(victim);
    faults['crash-mid-delivery']++;
  } else if (roll < 0.19 && alive.length > 0) {
    rng
      .pick(alive)
      .pipeline.producer.failNextTo(
        rng.pick([TOPICS.journal, TOPICS.results, TOPICS.confirmations, TOPICS.repartition]),
      );
    faults['failed-delivery']++;
  } else if (roll < 0.33 && dead().length > 0) {
    const fresh = rng.chance(0.4);
    await restart(world, rng.pick(dead()), fresh, machine, faults);
    await world.rebalance(shuffled(world.instances, rng));
    faults.rebalance++;
  } else if (roll < 0.42) {
    trace('rebalance');
    await world.rebalance(shuffled(world.instances, rng));
    faults.rebalance++;
  } else if (roll < 0.48) {
    const topic = rng.pick([TOPICS.pendingChangelog, TOPICS.confirmations, TOPICS.revocations]);
    if (world.kafka.compact(topic, rng.int(world.partitions)) > 0) faults.compaction++;
  } else if (roll < 0.51) {
    unreadable(world, rng);
    faults['unreadable-record']++;
  }
}

function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
