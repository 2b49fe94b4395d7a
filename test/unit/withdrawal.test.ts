/**
 * A withdrawal withdraws what it proved (issue 19, point 2): KGD's refusal or revocation of an
 * application revokes every registration resting on it, whatever its evidence; a device a reviewer
 * confirmed that KGD then refutes goes back to a reviewer, never silently kept or withdrawn. The
 * device's owner applies it in a batch (src/pool/batch-writer.ts), as the pipeline does.
 */
import { describe, expect, it } from 'vitest';
import { applyCommand, type Command, withdrawIfRefuted } from '../../src/domain/commands.js';
import { luhnDigit } from '../../src/domain/imei.js';
import type { DeclarationEntry, Evidence, PendingEntry, RegistryEntry } from '../../src/domain/types.js';
import { OUTPUT_ROLES } from '../../src/pool/batch-contract.js';
import { BatchWriter } from '../../src/pool/batch-writer.js';
import { BatchOutputs } from '../../src/pool/outputs-section.js';
import { decodePendingRecord } from '../../src/store/state-codec.js';
import { APPLE } from '../support/fixtures.js';
import { MapIndexView } from '../support/map-view.js';

const BODY = `${APPLE}000017`;
const IMEI = BODY + String(luhnDigit(BODY));
const OWNER = '880101300123';
const AT = new Date('2026-11-25T12:00:00Z');

const registration = (evidence: Evidence, applicationId: string | null): RegistryEntry => ({
  requestId: 'r-1',
  partition: 0,
  imei: IMEI,
  ownerId: OWNER,
  msisdn: '+77011234567',
  evidence,
  operator: 'beeline',
  applicationId,
  procedure: evidence === 'kgd-release' ? '40' : null,
  at: '2026-11-01T09:00:00.000Z',
});

const decided = (
  applicationId: string,
  status: DeclarationEntry['status'],
  extra: Partial<DeclarationEntry> = {},
): DeclarationEntry => ({
  applicationId,
  procedure: '40',
  status,
  hsCode: null,
  decidedAt: '2026-11-20T09:00:00.000Z',
  ...extra,
});

interface State {
  registry?: RegistryEntry;
  pending?: PendingEntry[];
  declarations?: DeclarationEntry[];
}

/** One batch of the device's owner: KGD's change noticed, then `commands`; what it published. */
function batch(state: State, commands: readonly Command[] = [], notice = true) {
  const view = new MapIndexView().addTac(APPLE);
  if (state.declarations !== undefined) view.decls.set(BODY, state.declarations);
  const writer = new BatchWriter(
    view,
    {
      pending: (b) => (b === BODY ? state.pending : undefined),
      registered: (b) => (b === BODY ? state.registry : undefined),
      outcome: () => undefined,
    },
    0,
    AT,
    { eligibleProcedures: new Set(['40']), acceptEaeuImports: true },
    { workingDays: 1, reviewMinimumMinutes: 0, calendar: { utcOffsetMinutes: 300, holidays: new Set() } },
  );
  if (notice) withdrawIfRefuted(BODY, writer);
  for (const command of commands) applyCommand(command, writer);
  const section = new BatchOutputs(writer.finish().section);
  const outputs: { role: string; value: Buffer | null }[] = [];
  for (let i = 0; i < section.outputCount; i++)
    outputs.push({ role: OUTPUT_ROLES[section.role(i) as number] ?? 'retired', value: section.value(i) });
  // The device's waiting entries as the batch leaves them: its changelog record, else unchanged.
  const changelog = outputs.find((o) => o.role === 'pendingChangelog');
  return {
    revocations: outputs
      .filter((o) => o.role === 'revocations' && o.value !== null)
      .map(
        (o) =>
          JSON.parse(o.value!.toString('utf8')) as { imei: string; applicationId: string; reason: string },
      ),
    results: outputs.filter((o) => o.role === 'results'),
    pending:
      changelog === undefined
        ? state.pending
        : changelog.value === null
          ? []
          : decodePendingRecord(changelog.value),
    registered: writer.registeredOf(BODY),
  };
}

describe('a refusal or revocation withdraws every registration its application proved', () => {
  it.each([
    ['kgd-release', 'revoked'],
    ['kgd-release', 'refused'],
    ['eaeu-import', 'revoked'],
    ['eaeu-import', 'refused'],
  ] as const)('%s, then %s: one revocation, with the reason', (evidence, status) => {
    const grounds = 'the declaration was forged';
    const out = batch({
      registry: registration(evidence, 'KZ-1'),
      declarations: [
        decided('KZ-1', status, { procedure: evidence === 'kgd-release' ? '40' : null, grounds }),
      ],
    });
    expect(out.revocations).toEqual([
      expect.objectContaining({
        imei: IMEI,
        applicationId: 'KZ-1',
        reason: expect.stringContaining(grounds),
      }),
    ]);
    expect(out.registered).toBeUndefined();
    expect(out.results).toEqual([]);
  });

  it('a withdrawal of another application, or a release, withdraws nothing', () => {
    for (const declarations of [
      [decided('KZ-1', 'released'), decided('KZ-2', 'revoked')],
      [decided('KZ-1', 'released')],
    ]) {
      const out = batch({ registry: registration('kgd-release', 'KZ-1'), declarations });
      expect(out.revocations).toEqual([]);
      expect(out.registered).toBeDefined();
    }
  });

  it('local production is not KGD’s to withdraw', () => {
    const out = batch({
      registry: registration('local-production', null),
      declarations: [decided('KZ-9', 'revoked')],
    });
    expect(out.revocations).toEqual([]);
  });
});

describe('a reviewer’s confirmation that KGD refutes goes back to a reviewer', () => {
  const manual = registration('manual', null);
  const refuted = [decided('KZ-7', 'refused', { grounds: 'not imported' })];

  it('is flagged kgd_refuted: no revocation, no result, one waiting entry', () => {
    const out = batch({ registry: manual, declarations: refuted });
    expect(out.revocations).toEqual([]);
    expect(out.results).toEqual([]);
    expect(out.pending).toEqual([
      expect.objectContaining({
        stage: 'review',
        reason: 'kgd_refuted',
        request: expect.objectContaining({ requestId: 'r-1', applicationId: 'KZ-7' }),
        detail: expect.stringContaining('not imported'),
      }),
    ]);
    expect(out.registered).toEqual(manual);
    // Noticed again (another decision about the device): flagged once.
    const again = batch({ registry: manual, declarations: refuted, pending: out.pending! });
    expect(again.pending).toEqual(out.pending);
  });

  it('not when another application still proves the entry', () => {
    const out = batch({ registry: manual, declarations: [...refuted, decided('KZ-8', 'released')] });
    expect(out.pending ?? []).toEqual([]);
  });

  const review = (decision: 'confirm' | 'reject'): Command => ({
    type: 'review',
    body: BODY,
    requestId: 'r-1',
    decision,
    reason: 'checked the papers',
    reviewer: 'a.n',
    issuedAt: AT.toISOString(),
  });

  it('a reviewer keeps it: it leaves the queue, registered, with no output but the changelog', () => {
    const flagged = batch({ registry: manual, declarations: refuted }).pending!;
    const out = batch(
      { registry: manual, declarations: refuted, pending: flagged },
      [review('confirm')],
      false,
    );
    expect(out.pending).toEqual([]);
    expect(out.revocations).toEqual([]);
    expect(out.results).toEqual([]);
    expect(out.registered).toEqual(manual);
  });

  it('a reviewer withdraws it: one revocation with the reviewer’s reason, no result', () => {
    const flagged = batch({ registry: manual, declarations: refuted }).pending!;
    const out = batch(
      { registry: manual, declarations: refuted, pending: flagged },
      [review('reject')],
      false,
    );
    expect(out.pending).toEqual([]);
    expect(out.results).toEqual([]);
    expect(out.revocations).toEqual([
      expect.objectContaining({
        applicationId: 'KZ-7',
        reason: expect.stringContaining('checked the papers'),
      }),
    ]);
    expect(out.registered).toBeUndefined();
  });
});
