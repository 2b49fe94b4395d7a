/**
 * The retention sweep over a real LMDB store: what each kind of data keeps and for how long, what
 * a purge destroys on an instance (its own copies, and commands to the owners of the rest), that
 * what came after a purge is left, and that a pass over a large store leaves the event loop
 * free between its steps.
 */
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type RetentionConfig } from '../../src/config/config.js';
import type { Command } from '../../src/domain/commands.js';
import { luhnDigit } from '../../src/domain/imei.js';
import { DAY_MS, type DestroyedKind, purgeAuditOf, purgeTargetOf } from '../../src/domain/retention.js';
import type { DeclarationEntry, OutcomeRecord, PendingEntry, RegistryEntry } from '../../src/domain/types.js';
import { createLogger } from '../../src/log.js';
import type { CommandSender } from '../../src/pipeline/command-sender.js';
import { applyMessages, type IndexChanges } from '../../src/pipeline/global-tables.js';
import type { LogMessage } from '../../src/pipeline/kafka-port.js';
import { declarationsTable } from '../../src/pipeline/tables.js';
import { primePurges, purgeFollower, recordPurge } from '../../src/retention/purge-orders.js';
import { RetentionSweep } from '../../src/retention/retention-sweep.js';
import { auditEntryOf } from '../../src/security/audit-log.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import { PurgeMarkIndex, putPurgeMark, readPurgeMarks } from '../../src/store/purge-marks.js';
import type { Store } from '../../src/store/store.js';
import { signedHeaders, testDecoders } from '../support/cluster-key.js';
import { registryEntry } from '../support/fixtures.js';
import { putSealed, testStore } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const root = tempDir();
const retention: RetentionConfig = loadConfig({ env: {} }).retention;
const NOW = new Date('2027-06-01T00:00:00.000Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY_MS).toISOString();
const OWNER = '880101300123';
const OTHER = '990340005977';
const log = createLogger('silent');
const withLuhn = (body: string) => body + String(luhnDigit(body));
const body = (n: number) => `352099${String(n).padStart(8, '0')}`;

let store: Store;
let stores = 0;
beforeEach(() => {
  store = testStore(join(root, `s${stores++}`));
  return () => store.close();
});
afterAll(() => undefined);

class Recorder implements CommandSender {
  readonly sent: Command[] = [];
  async send(commands: readonly Command[]): Promise<void> {
    this.sent.push(...commands);
  }
}

function sweepOf(
  options: { commands?: CommandSender; owned?: number[]; chunk?: number; marks?: PurgeMarkIndex } = {},
) {
  const destroyed = new Map<DestroyedKind, number>();
  const sweep = new RetentionSweep({
    store,
    retention,
    ...(options.commands === undefined ? {} : { commands: options.commands }),
    ownedPartitions: () => options.owned ?? [],
    destroyed: (kind, n) => destroyed.set(kind, (destroyed.get(kind) ?? 0) + n),
    log,
    ...(options.marks === undefined ? {} : { marks: options.marks }),
    chunk: options.chunk ?? 7,
  });
  return { sweep, destroyed };
}

function outcome(
  requestId: string,
  device: string,
  at: string,
  ownerId: string | null = OWNER,
): OutcomeRecord {
  return {
    decision: {
      outcome: 'confirmed',
      requestId,
      imei: withLuhn(device),
      body: device,
      evidence: 'kgd-release',
      operator: 'beeline',
      applicationId: 'KZ-1',
      procedure: '40',
      device: { tac: '35209900', brand: 'Apple', model: 'iPhone 6', deviceType: 'Smartphone' },
      ownerId,
      msisdn: '+77011234567',
      notify: true,
      detail: 'released',
    },
    source: `0/${requestId}`,
    at,
  };
}

function registered(device: string, ownerId: string, partition: number, at = daysAgo(3)): RegistryEntry {
  return registryEntry({ requestId: `reg-${device}`, partition, imei: withLuhn(device), ownerId, at });
}

function waiting(
  device: string,
  requestId: string,
  ownerId: string,
  partition: number,
  since = daysAgo(2),
): PendingEntry {
  return {
    request: { requestId, imei: withLuhn(device), operator: 'kcell', channel: 'import', ownerId },
    partition,
    source: `${partition}/${requestId}`,
    stage: 'review',
    reason: 'kgd_timeout',
    detail: 'waiting',
    since,
    deadline: null,
  };
}

function declaration(applicationId: string, decidedAt: string | null): DeclarationEntry {
  return { applicationId, procedure: '40', status: 'released', hsCode: null, decidedAt };
}

function targetOf(kind: 'imei' | 'iin' | 'application', value: string) {
  const parsed = purgeTargetOf(kind, value, (iin) => store.pseudonyms.all(iin));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.target;
}

async function mark(kind: 'imei' | 'iin' | 'application', value: string, at: Date): Promise<void> {
  await store.env.transaction(() => putPurgeMark(store, targetOf(kind, value), at.getTime()));
}

/** A purge as this instance records it from the audit trail: keys destroyed, the mark. */
async function purge(kind: 'imei' | 'iin', value: string, at: Date): Promise<void> {
  await store.env.transaction(() => recordPurge(store, targetOf(kind, value), at.getTime()));
}

describe('retention, per kind of data', () => {
  it('outcomes: full for requestsDays, then reduced, deleted after outcomesDays', async () => {
    await putSealed(store, (put) => {
      put.outcome('fresh', outcome('fresh', body(1), daysAgo(1)));
      put.outcome('week-old', outcome('week-old', body(2), daysAgo(retention.requestsDays + 1)));
      put.outcome('old', outcome('old', body(3), daysAgo(retention.outcomesDays + 1)));
    });
    const { sweep, destroyed } = sweepOf();
    const report = await sweep.pass(NOW);
    expect(store.outcomes.get('fresh')).toEqual(outcome('fresh', body(1), daysAgo(1)));
    expect(store.outcomes.get('week-old')?.decision).toMatchObject({
      requestId: 'week-old',
      outcome: 'confirmed',
      ownerId: null,
      msisdn: null,
      notify: false,
      detail: '',
    });
    expect(store.outcomes.get('old')).toBeUndefined();
    expect(report.destroyed).toMatchObject({ outcome: 1, outcome_personal: 1 });
    expect(destroyed.get('outcome')).toBe(1);
    // A second pass has nothing left to do.
    expect((await sweepOf().sweep.pass(NOW)).destroyed).toMatchObject({ outcome: 0, outcome_personal: 0 });
  });

  it('declarations: an application goes declarationsDays after KGD’s latest decision; other applications of its IMEIs stay', async () => {
    await store.env.transaction(() => {
      applyApplicationDecision(store, {
        entry: declaration('OLD', daysAgo(retention.declarationsDays + 1)),
        bodies: [body(1), body(2), body(3)],
      });
      applyApplicationDecision(store, { entry: declaration('NEW', daysAgo(10)), bodies: [body(3)] });
    });
    const { sweep } = sweepOf({ chunk: 2 });
    const report = await sweep.pass(NOW);
    expect(report.destroyed).toMatchObject({ application: 1, declaration: 3 });
    expect(store.applications.get('OLD')).toBeUndefined();
    expect([...store.applicationImeis.getValues('OLD')]).toEqual([]);
    expect(store.declarations.get(body(1))).toBeUndefined();
    expect(store.declarations.get(body(3))?.map((d) => d.applicationId)).toEqual(['NEW']);
    expect(store.applications.get('NEW')).toBeDefined();
  });

  it('declarations without a decision time: kept declarationsDays from when the sweep first saw them', async () => {
    await store.env.transaction(() => {
      applyApplicationDecision(store, { entry: declaration('UNDATED', null), bodies: [body(5)] });
    });
    const { sweep } = sweepOf();
    await sweep.pass(NOW);
    expect(store.applications.get('UNDATED')).toBeDefined();
    await sweep.pass(new Date(NOW.getTime() + (retention.declarationsDays - 1) * DAY_MS));
    expect(store.applications.get('UNDATED')).toBeDefined();
    const report = await sweep.pass(new Date(NOW.getTime() + (retention.declarationsDays + 1) * DAY_MS));
    expect(report.destroyed).toMatchObject({ application: 1, declaration: 1 });
    expect(store.declarations.get(body(5))).toBeUndefined();
    expect(store.meta.get('retention/undated/UNDATED')).toBeUndefined();
  });

  it('the online audit store keeps auditDays', async () => {
    await store.env.transaction(() => {
      for (const [key, at] of [
        ['a', daysAgo(retention.auditDays + 2)],
        ['b', daysAgo(retention.auditDays + 1)],
        ['c', daysAgo(retention.auditDays - 1)],
      ] as const) {
        const entry = auditEntryOf(
          { actor: 'x', role: 'admin', action: 'load.tac', basis: null, target: key },
          new Date(at),
        );
        store.audit.put(`${entry.at}#0#${key}`, entry);
      }
    });
    const report = await sweepOf({ chunk: 1 }).sweep.pass(NOW);
    expect(report.destroyed.audit).toBe(2);
    expect([...store.audit.getRange()].map((e) => e.value.target)).toEqual(['c']);
  });

  it('never blocks the event loop: a pass over thousands of records yields between steps', async () => {
    await putSealed(store, (put) => {
      for (let i = 0; i < 5000; i++)
        put.outcome(`r-${i}`, outcome(`r-${i}`, body(i), daysAgo(retention.requestsDays + 1)));
    });
    let ticks = 0;
    let ticking = true;
    const tick = (): void => {
      ticks++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const report = await sweepOf({ chunk: 100 }).sweep.pass(NOW);
    ticking = false;
    expect(report.destroyed.outcome_personal).toBe(5000);
    // 50 steps of 100: the loop ran between every one of them.
    expect(ticks).toBeGreaterThanOrEqual(50);
  });
});

describe('a purge on one instance', () => {
  it('outcomes naming the device or confirming to the owner go; later ones stay', async () => {
    const purged = new Date(NOW.getTime() - 1000);
    await putSealed(store, (put) => {
      put.outcome('device', outcome('device', body(1), daysAgo(1), OTHER));
      put.outcome('owner', outcome('owner', body(2), daysAgo(1)));
      put.outcome('other', outcome('other', body(3), daysAgo(1), OTHER));
      put.outcome('after', outcome('after', body(1), NOW.toISOString()));
    });
    await purge('imei', withLuhn(body(1)), purged);
    await purge('iin', OWNER, purged);
    // The owner's keys are destroyed at once: their outcome reads back erased before any sweep.
    expect(store.outcomes.get('owner')).toMatchObject({ erased: true, decision: { ownerId: null } });
    await sweepOf().sweep.pass(NOW);
    expect([...store.outcomes.getRange()].map((e) => e.key).sort()).toEqual(['after', 'other']);
    expect(store.outcomes.get('after')?.decision).toMatchObject({ ownerId: OWNER });
  });

  it('registry entries and waiting requests: purge commands to the owner, for owned partitions only, not resent at once', async () => {
    const purged = new Date(NOW.getTime() - 1000);
    await putSealed(store, (put) => {
      put.registry(body(1), registered(body(1), OWNER, 0));
      put.registry(body(2), registered(body(2), OWNER, 1));
      put.registry(body(3), registered(body(3), OTHER, 0));
      put.registry(body(4), registered(body(4), OWNER, 0, NOW.toISOString()));
      put.pending(body(5), [waiting(body(5), 'w-5', OWNER, 0), waiting(body(5), 'w-6', OTHER, 0)]);
      put.pending(body(9), [waiting(body(9), 'w-9', OTHER, 0)]);
    });
    await purge('iin', OWNER, purged);
    await purge('imei', withLuhn(body(9)), purged);
    const recorder = new Recorder();
    const { sweep } = sweepOf({ commands: recorder, owned: [0] });
    const report = await sweep.pass(NOW);
    const issuedAt = purged.toISOString();
    // An owner's purge reaches what its destroyed keys erased: no command names the owner.
    const erased = { type: 'purge', erased: true, issuedAt: expect.any(String) };
    expect(recorder.sent).toEqual(
      expect.arrayContaining([
        { ...erased, body: body(1) },
        { ...erased, body: body(5) },
        { type: 'purge', body: body(9), issuedAt },
      ]),
    );
    expect(JSON.stringify(recorder.sent)).not.toContain(OWNER);
    expect(recorder.sent).toHaveLength(3);
    expect(report.commands).toBe(3);
    // The owner decides: this instance changed none of it itself.
    expect(store.registry.get(body(1))).toBeDefined();
    // Sent, and on its way: the next pass does not send it again.
    await sweep.pass(NOW);
    expect(recorder.sent).toHaveLength(3);
  });

  it('without a cluster (the CLI on a stopped service) the store is changed directly, the review table too', async () => {
    const purged = new Date(NOW.getTime() - 1000);
    await putSealed(store, (put) => {
      put.registry(body(1), registered(body(1), OWNER, 3));
      put.registry(body(3), registered(body(3), OTHER, 0));
      const entries = [waiting(body(5), 'w-5', OWNER, 2), waiting(body(5), 'w-6', OTHER, 2)];
      put.pending(body(5), entries);
      put.reviews(body(5), entries);
    });
    await purge('iin', OWNER, purged);
    const report = await sweepOf().sweep.pass(NOW);
    expect(report.destroyed).toMatchObject({ registry: 1, pending: 1 });
    expect(store.registry.get(body(1))).toBeUndefined();
    expect(store.registry.get(body(3))).toBeDefined();
    expect(store.pending.get(body(5))?.map((e) => e.request.requestId)).toEqual(['w-6']);
    expect(store.reviews.get(body(5))?.map((e) => e.request.requestId)).toEqual(['w-6']);
  });

  it('marks expire: an IIN after requestsDays, a device or application after declarationsDays', async () => {
    await mark('iin', OWNER, new Date(NOW.getTime() - (retention.requestsDays + 1) * DAY_MS));
    await mark('iin', OTHER, new Date(NOW.getTime() - DAY_MS));
    await mark('imei', withLuhn(body(1)), new Date(NOW.getTime() - (retention.requestsDays + 1) * DAY_MS));
    await mark('application', 'OLD', new Date(NOW.getTime() - (retention.declarationsDays + 1) * DAY_MS));
    const index = PurgeMarkIndex.load(store);
    expect(index.decisionBodies('OLD', [body(1)], 0)).toBeNull();
    await sweepOf({ marks: index }).sweep.pass(NOW);
    expect((await readPurgeMarks(store)).map((m) => `${m.kind}:${m.id}`).sort()).toEqual([
      `iin:${store.pseudonyms.current(OTHER)}`,
      `imei:${body(1)}`,
    ]);
    expect(index.decisionBodies('OLD', [body(1)], 0)).toEqual([]);
  });
});

describe('a purge’s audit entry, as every instance stores it', () => {
  function entryOf(kind: 'imei' | 'iin' | 'application', value: string, at: Date) {
    return auditEntryOf(
      { actor: 'ops', role: 'admin', basis: 'order 7', ...purgeAuditOf(targetOf(kind, value)) },
      at,
    );
  }

  it('marks the purge and removes the declarations it names in the same transaction; outcomes in the pass it starts', async () => {
    await store.env.transaction(() => {
      applyApplicationDecision(store, { entry: declaration('A', daysAgo(5)), bodies: [body(1), body(2)] });
      applyApplicationDecision(store, { entry: declaration('B', daysAgo(5)), bodies: [body(3), body(4)] });
    });
    await putSealed(store, (put) =>
      put.outcome('r-1', outcome('r-1', body(7), new Date(Date.now() - DAY_MS).toISOString())),
    );
    const marks = PurgeMarkIndex.load(store);
    const { sweep, destroyed } = sweepOf({ marks });
    const follower = purgeFollower({
      sweep,
      retention,
      marks,
      destroyed: (kind, n) => destroyed.set(kind, (destroyed.get(kind) ?? 0) + n),
      log,
    });
    const now = new Date();
    const entries = [
      entryOf('imei', withLuhn(body(1)), now),
      entryOf('application', 'B', now),
      entryOf('iin', OWNER, now),
      // Long past: nothing it protects against can come back any more.
      entryOf('iin', OTHER, new Date(now.getTime() - (retention.requestsDays + 1) * DAY_MS)),
      auditEntryOf({ actor: 'ops', role: 'admin', action: 'load.tac', basis: null, target: 'x' }, now),
    ];
    await store.env.transaction(() => follower.apply(store, entries));
    expect(store.declarations.get(body(1))).toBeUndefined();
    expect(store.applications.get('A')?.imeiCount).toBe(1);
    expect(store.applications.get('B')).toBeUndefined();
    expect(store.declarations.get(body(3))).toBeUndefined();
    expect([...store.applicationImeis.getValues('B')]).toEqual([]);
    expect((await readPurgeMarks(store)).map((m) => `${m.kind}:${m.id}`).sort()).toEqual([
      'application:B',
      `iin:${store.pseudonyms.current(OWNER)}`,
      `imei:${body(1)}`,
    ]);
    expect(marks.decisionBodies('B', [body(3)], now.getTime() - 1)).toBeNull();
    follower.afterCommit(entries);
    // The owner's one key (their outcome's) destroyed with the order.
    expect(Object.fromEntries(destroyed)).toEqual({ declaration: 3, application: 1, subject_key: 1 });
    await sweep.requestPass();
    // The owner's outcome went in the pass the entry started.
    expect(store.outcomes.get('r-1')).toBeUndefined();
    // Stored again (a retried transaction, or a replay): known, nothing removed twice.
    await store.env.transaction(() => follower.apply(store, entries));
    follower.afterCommit(entries);
    expect(destroyed.get('application')).toBe(1);
    await sweep.stop();
  });

  it('an instance that was away records the purges it missed first: what it held goes, a decision KGD sent after the purge stays', async () => {
    const now = new Date();
    const order = entryOf('application', 'A', now);
    // Held from before the purge (the instance was down when it was ordered).
    await store.env.transaction(() => {
      applyApplicationDecision(store, { entry: declaration('A', daysAgo(5)), bodies: [body(1)] });
    });
    const marks = PurgeMarkIndex.load(store);
    const { sweep } = sweepOf({ marks });
    const reader = {
      async readToEnd(
        _topic: string,
        _partition: number,
        from: number,
        onBatch: (batch: readonly LogMessage[]) => Promise<void>,
      ) {
        expect(from).toBe(0);
        const value = Buffer.from(JSON.stringify(order));
        await onBatch([
          {
            topic: 'audit',
            partition: 0,
            offset: 0,
            key: null,
            value,
            headers: signedHeaders('audit', null, value),
            timestamp: 0,
          },
        ]);
        return 1;
      },
    };
    const recorded = await primePurges({
      store,
      reader,
      topic: 'audit',
      decode: testDecoders().audit,
      retention,
      marks,
      destroyed: () => undefined,
    });
    expect(recorded).toBe(1);
    await sweep.requestPass();
    expect(store.applications.get('A')).toBeUndefined();
    // The global tables resume: KGD decided again after the purge (kept), then the audit entry
    // itself comes by (known already: nothing more is removed).
    const table = declarationsTable(log, (id, bodies, timestamp) =>
      marks.decisionBodies(id, bodies, timestamp),
    );
    const decision = Buffer.from(
      JSON.stringify({ applicationId: 'A', procedure: '40', status: 'released', imeis: [body(2)] }),
    );
    const changes: IndexChanges = { bodies: new Set(), applications: new Set() };
    const follower = purgeFollower({ sweep, retention, marks, destroyed: () => undefined, log });
    await store.env.transaction(() => {
      applyMessages(
        table,
        store,
        [
          {
            topic: 'd',
            partition: 0,
            offset: 9,
            key: null,
            value: decision,
            headers: [],
            timestamp: now.getTime() + 5,
          },
        ],
        changes,
      );
      follower.apply(store, [order]);
    });
    follower.afterCommit([order]);
    await sweep.requestPass();
    expect(store.declarations.get(body(2))?.map((d) => d.applicationId)).toEqual(['A']);
    expect(store.declarations.get(body(1))).toBeUndefined();
    await sweep.stop();
  });

  it('an instance back after any absence: an owner purged long ago is unreadable before it serves a read, and its views emptied', async () => {
    const longAgo = new Date(Date.now() - 60 * DAY_MS).toISOString();
    // Held since before the purge, in the views of partitions owned elsewhere, whose tombstones
    // were compacted away while this instance was down.
    await putSealed(store, (put) => {
      put.view(body(1), 5, registered(body(1), OWNER, 2, longAgo));
      put.reviews(body(2), [
        waiting(body(2), 'w-2', OWNER, 2, longAgo),
        waiting(body(2), 'w-3', OTHER, 2, longAgo),
      ]);
    });
    // Ordered 30 days ago: past requestsDays, so no mark is kept for it; its keys still go.
    const order = entryOf('iin', OWNER, new Date(Date.now() - 30 * DAY_MS));
    const value = Buffer.from(JSON.stringify(order));
    const message: LogMessage = {
      topic: 'audit',
      partition: 0,
      offset: 0,
      key: null,
      value,
      headers: signedHeaders('audit', null, value),
      timestamp: 0,
    };
    const marks = PurgeMarkIndex.load(store);
    const destroyed = new Map<string, number>();
    await primePurges({
      store,
      reader: {
        readToEnd: async (_t, _p, _from, onBatch) => {
          await onBatch([message]);
          return 1;
        },
      },
      topic: 'audit',
      decode: testDecoders().audit,
      retention,
      marks,
      destroyed: (kind, n) => destroyed.set(kind, n),
    });
    expect(destroyed.get('subject_key')).toBe(2);
    expect(await readPurgeMarks(store)).toEqual([]);
    expect(store.registryView.get(body(1))?.entry).toMatchObject({
      erased: true,
      ownerId: null,
      msisdn: null,
    });
    expect(
      store.reviews.get(body(2))?.find((e) => e.request.requestId === 'w-2')?.request.ownerId,
    ).toBeUndefined();
    await sweepOf().sweep.pass(new Date());
    expect(store.registryView.get(body(1))?.entry).toBeNull();
    expect(store.reviews.get(body(2))?.map((e) => e.request.requestId)).toEqual(['w-3']);
    expect(store.reviews.get(body(2))?.[0]?.request.ownerId).toBe(OTHER);
  });

  it('the declarations table ignores what a later purge removed when Kafka brings it back', () => {
    const purged = Date.parse('2027-05-01T00:00:00Z');
    const marks = new PurgeMarkIndex();
    marks.put({ kind: 'application', applicationId: 'GONE' }, purged);
    marks.put({ kind: 'imei', body: body(1), imei: withLuhn(body(1)) }, purged);
    const table = declarationsTable(log, (id, bodies, timestamp) =>
      marks.decisionBodies(id, bodies, timestamp),
    );
    const message = (
      offset: number,
      applicationId: string,
      bodies: string[],
      timestamp: number,
    ): LogMessage => ({
      topic: 'kgd.release.decisions',
      partition: 0,
      offset,
      key: Buffer.from(applicationId),
      value: Buffer.from(
        JSON.stringify({
          applicationId,
          procedure: '40',
          status: 'released',
          imeis: bodies,
          decidedAt: '2027-04-01T00:00:00Z',
        }),
      ),
      headers: [],
      timestamp,
    });
    const changes: IndexChanges = { bodies: new Set(), applications: new Set() };
    const before = purged - 1000;
    const after = purged + 1000;
    return store.env.transaction(() => {
      applyMessages(
        table,
        store,
        [
          message(0, 'GONE', [body(2)], before),
          message(1, 'KEPT', [body(1), body(3)], before),
          message(2, 'LATER', [body(1)], after),
        ],
        changes,
      );
      expect(store.applications.get('GONE')).toBeUndefined();
      expect(store.declarations.get(body(2))).toBeUndefined();
      expect(store.declarations.get(body(3))?.map((d) => d.applicationId)).toEqual(['KEPT']);
      // KGD decided about the device again after the purge: that is new data.
      expect(store.declarations.get(body(1))?.map((d) => d.applicationId)).toEqual(['LATER']);
    });
  });
});
