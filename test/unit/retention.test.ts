/**
 * Retention and destruction on request, the pure parts and the partition owner's side: what a
 * purge names and how the audit trail carries it, what a reduced outcome keeps, and what a
 * `purge` command does to a partition batch (registry, waiting requests, tombstones) — and what
 * it leaves alone.
 */
import { describe, expect, it } from 'vitest';
import { applyCommand, type Command, parseCommand } from '../../src/domain/commands.js';
import { luhnDigit } from '../../src/domain/imei.js';
import {
  isReduced,
  outcomePurged,
  type PurgeMarks,
  pendingPurged,
  purgeAuditOf,
  purgeOfAudit,
  purgeScope,
  purgeTargetOf,
  reducedOutcome,
  registryPurged,
} from '../../src/domain/retention.js';
import type { FinalDecision, OutcomeRecord, PendingEntry, RegistryEntry } from '../../src/domain/types.js';
import { OUTPUT_ROLES, ROLE_RETIRED, STATE_DBS } from '../../src/pool/batch-contract.js';
import { BatchWriter } from '../../src/pool/batch-writer.js';
import { BatchOutputs } from '../../src/pool/outputs-section.js';
import { Pseudonyms } from '../../src/store/pseudonyms.js';
import { decodePendingRecord, decodeStored } from '../../src/store/state-codec.js';
import { structuredPackr } from '../../src/store/structures.js';
import { TEST_SECRETS } from '../support/cluster-key.js';
import { registryEntry } from '../support/fixtures.js';
import { MapIndexView } from '../support/map-view.js';

const OWNER = '880101300123';
const OTHER = '990340005977';
const BODY = '35209900176148';
const IMEI = BODY + String(luhnDigit(BODY));
const PURGED_AT = '2026-11-25T12:00:00.000Z';
const pseudonyms = new Pseudonyms(TEST_SECRETS.pseudonym);
const pseudonymsOf = (iin: string) => pseudonyms.all(iin);

function registered(ownerId: string | null, at = '2026-11-20T10:00:00.000Z'): RegistryEntry {
  return registryEntry({ requestId: 'r-reg', partition: 0, imei: IMEI, ownerId, at });
}

function waiting(
  requestId: string,
  ownerId: string | undefined,
  since = '2026-11-24T10:00:00.000Z',
): PendingEntry {
  return {
    request: {
      requestId,
      imei: IMEI,
      operator: 'kcell',
      channel: 'import',
      ...(ownerId === undefined ? {} : { ownerId }),
    },
    partition: 0,
    source: `0/${requestId}`,
    stage: 'awaiting_kgd',
    reason: 'awaiting_kgd',
    detail: 'waiting',
    since,
    deadline: '2026-11-26T10:00:00.000Z',
  };
}

const confirmedOutcome: OutcomeRecord = {
  decision: {
    outcome: 'confirmed',
    requestId: 'r-1',
    imei: IMEI,
    body: BODY,
    evidence: 'kgd-release',
    operator: 'beeline',
    applicationId: 'KZ-1',
    procedure: '40',
    device: { tac: '35209900', brand: 'Apple', model: 'iPhone 6', deviceType: 'Smartphone' },
    ownerId: OWNER,
    msisdn: '+77011234567',
    notify: true,
    detail: 'released under application KZ-1, procedure 40',
  },
  source: '0/17',
  at: '2026-11-20T10:00:00.000Z',
};

const refusedOutcome: OutcomeRecord = {
  decision: {
    outcome: 'rejected',
    requestId: 'r-2',
    imei: IMEI,
    body: BODY,
    reason: 'declaration_refused',
    detail: 'KGD refused release under application KZ-2: no certificate',
    grounds: 'no certificate',
  },
  source: '0/18',
  at: '2026-11-20T10:00:00.000Z',
};

describe('what a purge names', () => {
  it('an IMEI in any form, strictly checked; an IIN/BIN with its check digit; an application ID', () => {
    expect(purgeTargetOf('imei', ` ${BODY.slice(0, 8)}-${BODY.slice(8)}-${IMEI[14]} `, pseudonymsOf)).toEqual(
      {
        ok: true,
        target: { kind: 'imei', body: BODY, imei: IMEI },
      },
    );
    expect(purgeTargetOf('imei', BODY, pseudonymsOf)).toMatchObject({ ok: true, target: { imei: IMEI } });
    const wrongDigit = `${BODY}${(Number(IMEI[14]) + 1) % 10}`;
    expect(purgeTargetOf('imei', wrongDigit, pseudonymsOf)).toEqual({
      ok: false,
      error: expect.stringMatching(/^imei: /),
    });
    // An owner is named by keyed pseudonyms only, one per cluster key listed: never the IIN.
    const owner = purgeTargetOf('iin', OWNER, pseudonymsOf);
    expect(owner).toEqual({ ok: true, target: { kind: 'iin', owners: pseudonyms.all(OWNER) } });
    expect(JSON.stringify(owner)).not.toContain(OWNER);
    expect(purgeTargetOf('iin', '880101300124', pseudonymsOf)).toEqual({
      ok: false,
      error: expect.stringContaining('check digit'),
    });
    expect(purgeTargetOf('application', 'KZ-2025-000042', pseudonymsOf)).toMatchObject({ ok: true });
    expect(purgeTargetOf('application', '  ', pseudonymsOf)).toMatchObject({ ok: false });
    expect(purgeTargetOf('application', 'x'.repeat(129), pseudonymsOf)).toMatchObject({ ok: false });
  });

  it('travels as an audit entry and back; other entries are not purges', () => {
    for (const [kind, value] of [
      ['imei', IMEI],
      ['iin', OWNER],
      ['application', 'KZ-9'],
    ] as const) {
      const parsed = purgeTargetOf(kind, value, pseudonymsOf);
      if (!parsed.ok) throw new Error(parsed.error);
      const audit = purgeAuditOf(parsed.target);
      expect(audit.action).toBe(`purge.${kind}`);
      expect(audit.target).toBe(kind === 'iin' ? pseudonyms.all(OWNER).join(' ') : value);
      expect(purgeOfAudit(audit, pseudonymsOf)).toEqual(parsed.target);
      expect(purgeScope(parsed.target).length).toBeGreaterThan(0);
    }
    // An entry written before owners were pseudonymous names the IIN: read as its pseudonyms.
    expect(purgeOfAudit({ action: 'purge.iin', target: OWNER }, pseudonymsOf)).toEqual({
      kind: 'iin',
      owners: pseudonyms.all(OWNER),
    });
    expect(purgeOfAudit({ action: 'device.read-personal', target: IMEI }, pseudonymsOf)).toBeUndefined();
    expect(purgeOfAudit({ action: 'purge.everything', target: IMEI }, pseudonymsOf)).toBeUndefined();
    expect(purgeOfAudit({ action: 'purge.iin', target: '123' }, pseudonymsOf)).toBeUndefined();
    expect(purgeOfAudit({ action: 'purge.imei', target: null }, pseudonymsOf)).toBeUndefined();
  });
});

describe('a final outcome past its personal-data retention', () => {
  it('keeps what rule 10 needs and drops owner, phone, customs data and the detail', () => {
    const reduced = reducedOutcome(confirmedOutcome);
    expect(reduced).toEqual({
      ...confirmedOutcome,
      decision: {
        ...confirmedOutcome.decision,
        applicationId: null,
        procedure: null,
        ownerId: null,
        msisdn: null,
        notify: false,
        detail: '',
      },
    });
    const refused = reducedOutcome(refusedOutcome);
    expect(refused.decision).not.toHaveProperty('grounds');
    expect(refused.decision).toMatchObject({
      outcome: 'rejected',
      reason: 'declaration_refused',
      detail: '',
    });
    expect(isReduced(confirmedOutcome)).toBe(false);
    expect(isReduced(refusedOutcome)).toBe(false);
    expect(isReduced(reduced)).toBe(true);
    expect(isReduced(refused)).toBe(true);
  });

  it('keeps its stored msgpack shape: the same keys in the same order', () => {
    // The shared structures are order-sensitive (src/store/structures.ts): a reordered record
    // would be stored self-describing, bigger and slower.
    const packr = structuredPackr();
    const full = packr.pack(confirmedOutcome).length;
    const reduced = packr.pack(reducedOutcome(confirmedOutcome));
    expect(Object.keys(reducedOutcome(confirmedOutcome).decision)).toEqual(
      Object.keys(confirmedOutcome.decision),
    );
    expect(reduced.length).toBeLessThan(full);
    expect(decodeStored(Uint8Array.from(reduced))).toEqual(reducedOutcome(confirmedOutcome));
  });
});

describe('what a purge reaches: only what was recorded before it', () => {
  const at = Date.parse(PURGED_AT);
  const byDevice: PurgeMarks = { imeis: new Map([[BODY, at]]) };
  const none: PurgeMarks = { imeis: new Map() };
  // An owner's purge destroys the keys of their records: read back, they say `erased`.
  const erasedOutcome: OutcomeRecord = {
    ...confirmedOutcome,
    decision: {
      ...(confirmedOutcome.decision as Extract<FinalDecision, { outcome: 'confirmed' }>),
      ownerId: null,
      msisdn: null,
    },
    erased: true,
  };

  it('outcomes naming the device, or whose owner and phone were erased', () => {
    expect(outcomePurged(confirmedOutcome, byDevice)).toBe(true);
    expect(outcomePurged(refusedOutcome, byDevice)).toBe(true);
    expect(outcomePurged(erasedOutcome, none)).toBe(true);
    expect(outcomePurged(confirmedOutcome, none)).toBe(false);
    const later = { ...confirmedOutcome, at: '2026-11-25T12:00:00.001Z' };
    expect(outcomePurged(later, byDevice)).toBe(false);
  });

  it('registry entries and waiting requests, by device or erased', () => {
    expect(registryPurged(BODY, registered(OWNER), byDevice)).toBe(true);
    expect(registryPurged(BODY, registered(null), byDevice)).toBe(true);
    expect(registryPurged(BODY, registered(OWNER), none)).toBe(false);
    expect(registryPurged(BODY, { ...registered(null), erased: true }, none)).toBe(true);
    expect(registryPurged(BODY, registered(OWNER, '2026-11-26T00:00:00.000Z'), byDevice)).toBe(false);
    expect(pendingPurged(BODY, { ...waiting('w', undefined), erased: true }, none)).toBe(true);
    expect(pendingPurged(BODY, waiting('w', OWNER), none)).toBe(false);
    expect(pendingPurged(BODY, waiting('w', undefined), byDevice)).toBe(true);
    expect(pendingPurged(BODY, waiting('w', OWNER, '2026-11-26T00:00:00.000Z'), byDevice)).toBe(false);
  });
});

// ── the partition owner's side ────────────────────────────────────────────────────────────

interface Built {
  readonly outputs: { role: string; key: string | null; value: Buffer | null }[];
  readonly ops: { db: string; op: 'put' | 'remove'; key: string; value: Uint8Array | null }[];
  readonly counts: readonly (readonly [string, string, number])[];
}

function run(
  commands: readonly Command[],
  state: { registry?: RegistryEntry; pending?: PendingEntry[] } = {},
): Built {
  const writer = new BatchWriter(
    new MapIndexView(),
    {
      pending: (b) => (b === BODY ? state.pending : undefined),
      registered: (b) => (b === BODY ? state.registry : undefined),
      outcome: () => undefined,
    },
    0,
    new Date('2026-11-25T12:00:05Z'),
    { eligibleProcedures: new Set(['40']) },
    { workingDays: 1, reviewMinimumMinutes: 0, calendar: { utcOffsetMinutes: 300, holidays: new Set() } },
  );
  for (const command of commands) applyCommand(command, writer);
  const finished = writer.finish();
  const section = new BatchOutputs(finished.section);
  const read: Built['outputs'] = [];
  for (let i = 0; i < section.outputCount; i++) {
    const code = section.role(i);
    read.push({
      role: code === ROLE_RETIRED ? 'retired' : OUTPUT_ROLES[code]!,
      key: section.key(i)?.toString('utf8') ?? null,
      value: section.value(i),
    });
  }
  const readOps: Built['ops'] = [];
  for (let i = 0; i < section.opCount; i++) {
    const op = section.op(i);
    readOps.push({
      db: STATE_DBS[op.db]!,
      op: op.op === 0 ? 'put' : 'remove',
      key: Buffer.from(op.key).toString('utf8'),
      value: op.value,
    });
  }
  return { outputs: read, ops: readOps, counts: finished.counts };
}

const purgeDevice: Command = { type: 'purge', body: BODY, issuedAt: PURGED_AT };
/** What the sweep sends after an owner's purge: remove what the destroyed keys left unreadable. */
const purgeErased: Command = { type: 'purge', body: BODY, erased: true, issuedAt: PURGED_AT };
/** As builds before pseudonyms wrote it: read as `erased`, the IIN itself no longer decides. */
const purgeOwner: Command = { type: 'purge', body: BODY, ownerId: OWNER, issuedAt: PURGED_AT };
const erasedRegistry = (): RegistryEntry => ({ ...registered(null), msisdn: null, erased: true });
const erasedWaiting = (requestId: string): PendingEntry => ({
  ...waiting(requestId, undefined),
  erased: true,
});
const results = (built: Built) =>
  built.outputs
    .filter((o) => o.role === 'results')
    .map(
      (o) => JSON.parse(o.value!.toString('utf8')) as { requestId: string; outcome: string; reason: string },
    );

describe('a purge command, decided by the device’s owner', () => {
  it('is a command like the others: parsed and checked', () => {
    expect(parseCommand(Buffer.from(JSON.stringify(purgeErased)))).toEqual({
      ok: true,
      command: purgeErased,
    });
    expect(parseCommand(Buffer.from(JSON.stringify(purgeOwner)))).toEqual({ ok: true, command: purgeOwner });
    const bad = parseCommand(Buffer.from(JSON.stringify({ ...purgeOwner, ownerId: '12' })));
    expect(bad).toMatchObject({ ok: false, error: expect.stringContaining('ownerId') });
  });

  it('a device: its registry entry goes, БДИК records are tombstoned (revocations last), waiting requests answered purged', () => {
    const built = run([purgeDevice], {
      registry: registered(OWNER),
      pending: [waiting('w-1', OWNER), waiting('w-2', OTHER)],
    });
    expect(results(built).map((r) => `${r.requestId}:${r.outcome}:${r.reason}`)).toEqual([
      'w-1:rejected:purged',
      'w-2:rejected:purged',
    ]);
    const tombstones = built.outputs.filter((o) => o.role === 'confirmations' || o.role === 'revocations');
    expect(tombstones).toEqual([
      { role: 'confirmations', key: IMEI, value: null },
      { role: 'revocations', key: IMEI, value: null },
    ]);
    // The pending changelog forgets the device too.
    expect(built.outputs.filter((o) => o.role === 'pendingChangelog')).toEqual([
      { role: 'pendingChangelog', key: `p/${BODY}`, value: null },
    ]);
    expect(built.ops.map((o) => `${o.db}:${o.op}:${o.key}`)).toEqual([
      `pending:remove:${BODY}`,
      `registry:remove:${BODY}`,
    ]);
    // No outcome is kept for a purged request: it would name the device.
    expect(built.ops.some((o) => o.db === 'outcomes')).toBe(false);
    expect(built.counts).toEqual(
      expect.arrayContaining([
        ['destroyed', 'registry', 1],
        ['destroyed', 'pending', 2],
        ['rejected', 'purged', 2],
      ]),
    );
  });

  it('after an owner purge: only the records its destroyed keys left erased', () => {
    const other = run([purgeErased], {
      registry: registered(OTHER),
      pending: [erasedWaiting('w-1'), waiting('w-2', OTHER)],
    });
    expect(results(other).map((r) => r.requestId)).toEqual(['w-1']);
    expect(other.outputs.some((o) => o.role === 'confirmations' || o.role === 'revocations')).toBe(false);
    expect(other.ops.some((o) => o.db === 'registry')).toBe(false);
    const left = other.ops.find((o) => o.db === 'pending')!;
    expect(left.op).toBe('put');
    expect((decodeStored(left.value!) as PendingEntry[]).map((e) => e.request.requestId)).toEqual(['w-2']);
    const changelog = other.outputs.find((o) => o.role === 'pendingChangelog')!;
    expect(decodePendingRecord(changelog.value!).map((e) => e.request.requestId)).toEqual(['w-2']);

    const own = run([purgeErased], { registry: erasedRegistry() });
    expect(own.ops.map((o) => `${o.db}:${o.op}`)).toEqual(['registry:remove']);
    expect(own.outputs.map((o) => `${o.role}:${o.value === null ? 'null' : 'value'}`)).toEqual([
      'confirmations:null',
      'revocations:null',
    ]);
    // Nothing readable is touched, whoever owns it: the keys decide, not the command.
    const readable = run([purgeErased], { registry: registered(OWNER), pending: [waiting('w-1', OWNER)] });
    expect(readable.outputs).toEqual([]);
    expect(readable.ops).toEqual([]);
  });

  it('a purge command naming an owner (an older build) is read as an erased one', () => {
    expect(run([purgeOwner], { registry: registered(OWNER) }).ops).toEqual([]);
    expect(run([purgeOwner], { registry: erasedRegistry() }).ops.map((o) => `${o.db}:${o.op}`)).toEqual([
      'registry:remove',
    ]);
  });

  it('leaves what was recorded after it: a registration or a request that came later is new data', () => {
    const later = run([purgeDevice], {
      registry: registered(OWNER, '2026-11-25T12:00:01.000Z'),
      pending: [waiting('w-late', OWNER, '2026-11-25T12:00:02.000Z')],
    });
    expect(later.outputs).toEqual([]);
    expect(later.ops).toEqual([]);
  });

  it('a device no instance holds any more still gets its tombstones (a revoked confirmation on Kafka)', () => {
    const built = run([purgeDevice]);
    expect(built.outputs.map((o) => `${o.role}:${o.key}:${o.value}`)).toEqual([
      `confirmations:${IMEI}:null`,
      `revocations:${IMEI}:null`,
    ]);
    expect(built.ops).toEqual([]);
    // An erased purge says nothing about a device it finds no data of.
    expect(run([purgeErased]).outputs).toEqual([]);
  });

  it('is idempotent: applied twice in a batch, the second finds nothing left', () => {
    const built = run([purgeErased, purgeErased], {
      registry: erasedRegistry(),
      pending: [erasedWaiting('w-1')],
    });
    expect(results(built)).toHaveLength(1);
    expect(built.outputs.filter((o) => o.role === 'confirmations')).toHaveLength(1);
  });

  it('a revocation (rule 9) also tombstones the withdrawn confirmation, after the revocation', () => {
    const built = run(
      [{ type: 'revoke', body: BODY, applicationId: 'KZ-1', reason: 'KGD revoked', issuedAt: PURGED_AT }],
      { registry: registered(OWNER) },
    );
    expect(built.outputs.map((o) => `${o.role}:${o.value === null ? 'null' : 'value'}`)).toEqual([
      'revocations:value',
      'confirmations:null',
    ]);
  });
});
