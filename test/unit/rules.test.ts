import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { dryRun } from '../../src/domain/dry-run.js';
import { confirmationMessage, resultMessage } from '../../src/domain/outputs.js';
import { ruleSettingsOf } from '../../src/domain/rule-settings.js';
import { decide, evaluate } from '../../src/domain/rules.js';
import type { Decision, VerifyRequest } from '../../src/domain/types.js';
import { MapIndexView } from '../support/map-view.js';

const settings = { eligibleProcedures: new Set(['40', '53', '60', '94']) };
const BODY = '35209900176148';
const IMEI = '352099001761481';

function request(overrides: Partial<VerifyRequest> = {}): VerifyRequest {
  return { requestId: 'op-1', imei: IMEI, operator: 'beeline', channel: 'import', ...overrides };
}

function view(): MapIndexView {
  return new MapIndexView().addTac('35209900');
}

function outcomeOf(decision: Decision): string {
  return 'reason' in decision
    ? `${decision.outcome}/${decision.reason}`
    : `${decision.outcome}/${decision.evidence}`;
}

describe('rule 2: normalisation', () => {
  it('malformed_imei for a bad IMEI, echoing it', () => {
    const d = evaluate(request({ imei: '12-34' }), view(), settings);
    expect(d).toMatchObject({ outcome: 'rejected', reason: 'malformed_imei', imei: '12-34', body: null });
  });
  it('luhn_mismatch names the right digit', () => {
    const d = evaluate(request({ imei: '352099001761482' }), view(), settings);
    expect(d).toMatchObject({
      outcome: 'rejected',
      reason: 'luhn_mismatch',
      detail: 'check digit should be 1',
    });
  });
  it('a 14-digit IMEI is decided under its 15-digit form', () => {
    const v = view().declare(BODY, { applicationId: 'A' });
    expect(evaluate(request({ imei: BODY }), v, settings)).toMatchObject({
      outcome: 'confirmed',
      imei: IMEI,
      body: BODY,
    });
  });
});

describe('rule 2: network-derived IMEIs (a spare digit 0), per operator or channel', () => {
  const spare = ruleSettingsOf({
    eligibleProcedures: ['40'],
    acceptEaeuImports: true,
    hsCodesInScope: ['8517130000'],
    spareDigit: { operators: ['kcell'], channels: ['individual'] },
  });
  const network = '352099001761480';

  it('the strict check stays the default', () => {
    const v = view().declare(BODY, { applicationId: 'A' });
    expect(outcomeOf(evaluate(request({ imei: network, operator: 'kcell' }), v, settings))).toBe(
      'rejected/luhn_mismatch',
    );
  });
  it('an operator named in the setting: its 15-digit IMEI ending in 0 is decided as its body', () => {
    const v = view().declare(BODY, { applicationId: 'A' });
    const steps: string[] = [];
    expect(
      evaluate(request({ imei: network, operator: 'kcell' }), v, spare, (s) => steps.push(s)),
    ).toMatchObject({
      outcome: 'confirmed',
      imei: IMEI,
      body: BODY,
    });
    expect(steps[0]).toContain('spare 0');
  });
  it('a channel named in the setting, whatever the operator', () => {
    const v = view().declare(BODY, { applicationId: 'A' });
    expect(
      outcomeOf(evaluate(request({ imei: network, operator: 'beeline', channel: 'individual' }), v, spare)),
    ).toBe('confirmed/kgd-release');
  });
  it('others keep the strict check', () => {
    expect(outcomeOf(evaluate(request({ imei: network, operator: 'beeline' }), view(), spare))).toBe(
      'rejected/luhn_mismatch',
    );
  });
});

describe('rule 3: TAC', () => {
  it('tac_unknown when the TAC is not in the table', () => {
    const d = evaluate(request(), new MapIndexView(), settings);
    expect(d).toMatchObject({
      outcome: 'rejected',
      reason: 'tac_unknown',
      detail: 'TAC 35209900 is not in the TAC table',
    });
  });
});

describe('rule 4: block list', () => {
  it('blocklisted wins over a release decision', () => {
    const v = view().declare(BODY, { applicationId: 'A' });
    v.blocks.set(BODY, { source: 'kcell', reason: 'stolen', since: null });
    expect(evaluate(request(), v, settings)).toMatchObject({
      reason: 'blocklisted',
      detail: 'blocked by kcell: stolen',
    });
  });
});

describe('rule 5: registry', () => {
  const registered = (v: MapIndexView, ownerId: string | null, msisdn: string | null = '+77011234567') =>
    v.registry.set(BODY, {
      requestId: 'op-0',
      partition: 0,
      imei: IMEI,
      ownerId,
      msisdn,
      evidence: 'kgd-release',
      operator: 'beeline',
      applicationId: 'A',
      procedure: '40',
      at: '2026-11-01T00:00:00.000Z',
    });

  it('another owner → review / owner_conflict', () => {
    const v = view();
    registered(v, '990340005977');
    expect(evaluate(request({ ownerId: '880101300123' }), v, settings)).toMatchObject({
      outcome: 'review',
      reason: 'owner_conflict',
    });
  });

  it('same owner, same phone → confirmed with the recorded evidence, БДИК not told again', () => {
    const v = view();
    registered(v, '880101300123');
    const d = evaluate(request({ ownerId: '880101300123', msisdn: '+77011234567' }), v, settings);
    expect(d).toMatchObject({
      outcome: 'confirmed',
      evidence: 'kgd-release',
      applicationId: 'A',
      notify: false,
    });
  });

  it('same owner, new phone → confirmed and БДИК told', () => {
    const v = view();
    registered(v, '880101300123');
    const d = evaluate(request({ ownerId: '880101300123', msisdn: '+77017654321' }), v, settings);
    expect(d).toMatchObject({
      outcome: 'confirmed',
      notify: true,
      msisdn: '+77017654321',
      ownerId: '880101300123',
    });
  });

  it('registered to an owner, a request naming no owner → rejected / invalid_request, without saying who', () => {
    const v = view();
    registered(v, '990340005977', '+77019998877');
    for (const msisdn of [undefined, '+77019998877', '+77010000001']) {
      const d = evaluate(request(msisdn === undefined ? {} : { msisdn }), v, settings);
      expect(d).toMatchObject({ outcome: 'rejected', reason: 'invalid_request', body: BODY, imei: IMEI });
      expect((d as { detail: string }).detail).toMatch(/^ownerId: required/);
      // Neither the owner nor the phone reaches the decision (which a dry run returns).
      expect(JSON.stringify(d)).not.toContain('990340005977');
      expect(JSON.stringify(d)).not.toContain('+77019998877');
    }
  });

  it('registered without an owner, a request naming none → confirmed, no owner invented', () => {
    const v = view();
    registered(v, null);
    const d = evaluate(request({ msisdn: '+77010000001' }), v, settings);
    expect(d).toMatchObject({ outcome: 'confirmed', ownerId: null, msisdn: '+77010000001', notify: true });
  });

  it('registered without an owner, a request naming one → confirmed and БДИК told the owner', () => {
    const v = view();
    registered(v, null);
    const d = evaluate(request({ ownerId: '880101300123' }), v, settings);
    expect(d).toMatchObject({ outcome: 'confirmed', ownerId: '880101300123', notify: true });
  });

  it('the registry is consulted before the declarations (a refused app does not undo a registration)', () => {
    const v = view().declare(BODY, { applicationId: 'R', status: 'refused' });
    registered(v, null);
    expect(evaluate(request({ applicationId: 'R' }), v, settings).outcome).toBe('confirmed');
  });
});

describe('dry runs: what of the registry an answer discloses', () => {
  const registered = (v: MapIndexView) =>
    v.registry.set(BODY, {
      requestId: 'op-0',
      partition: 0,
      imei: IMEI,
      ownerId: '990340005977',
      msisdn: '+77019998877',
      evidence: 'kgd-release',
      operator: 'beeline',
      applicationId: 'A',
      procedure: '40',
      at: '2026-11-01T00:00:00.000Z',
    });

  it('another owner: the registration is recorded data, the decision names nobody', () => {
    const v = view();
    registered(v);
    const run = dryRun(request({ ownerId: '880101300123' }), v, settings);
    expect(run.recorded).toEqual({
      requestId: 'op-0',
      ownerId: '990340005977',
      msisdn: '+77019998877',
      since: '2026-11-01T00:00:00.000Z',
    });
    expect(JSON.stringify(run.withheld)).not.toContain('990340005977');
  });

  it('the same owner without a phone: the full decision carries the recorded phone, the withheld one does not', () => {
    const v = view();
    registered(v);
    const run = dryRun(request({ ownerId: '990340005977' }), v, settings);
    expect(run.full).toMatchObject({ outcome: 'confirmed', msisdn: '+77019998877' });
    expect(run.withheld).toMatchObject({ outcome: 'confirmed', ownerId: '990340005977', msisdn: null });
    expect(run.recorded).not.toBeNull();
  });

  it('the same owner and phone, or a device rejected before rule 5, disclose nothing', () => {
    const v = view();
    registered(v);
    expect(
      dryRun(request({ ownerId: '990340005977', msisdn: '+77019998877' }), v, settings).recorded,
    ).toBeNull();
    v.blocks.set(BODY, { source: 'kcell', reason: 'stolen', since: null });
    expect(dryRun(request({ ownerId: '880101300123' }), v, settings).recorded).toBeNull();
  });
});

describe('rule 6: evidence with an applicationId', () => {
  it('released, eligible, listed → confirmed with kgd-release', () => {
    const v = view().declare(BODY, { applicationId: 'A', procedure: '53' });
    expect(evaluate(request({ applicationId: 'A' }), v, settings)).toMatchObject({
      outcome: 'confirmed',
      evidence: 'kgd-release',
      applicationId: 'A',
      procedure: '53',
      device: { tac: '35209900', brand: 'Apple', model: 'iPhone 6', deviceType: 'Smartphone' },
    });
  });
  it('refused → declaration_refused', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'refused' });
    expect(outcomeOf(evaluate(request({ applicationId: 'A' }), v, settings))).toBe(
      'rejected/declaration_refused',
    );
  });
  it('revoked → declaration_refused', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'revoked' });
    expect(evaluate(request({ applicationId: 'A' }), v, settings)).toMatchObject({
      reason: 'declaration_refused',
      detail: expect.stringContaining('revoked'),
    });
  });
  it('released without this IMEI → declaration_mismatch', () => {
    const v = view().declare('35209900999999', { applicationId: 'A' });
    expect(outcomeOf(evaluate(request({ applicationId: 'A' }), v, settings))).toBe(
      'rejected/declaration_mismatch',
    );
  });
  it('ineligible procedure (80, customs transit) → procedure_not_eligible', () => {
    const v = view().declare(BODY, { applicationId: 'A', procedure: '80' });
    expect(outcomeOf(evaluate(request({ applicationId: 'A' }), v, settings))).toBe(
      'rejected/procedure_not_eligible',
    );
  });
  it('unknown application → pending / awaiting_kgd', () => {
    expect(outcomeOf(evaluate(request({ applicationId: 'X' }), view(), settings))).toBe(
      'pending/awaiting_kgd',
    );
  });
  it('registered but not yet decided → pending', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'registered' });
    expect(outcomeOf(evaluate(request({ applicationId: 'A' }), v, settings))).toBe('pending/awaiting_kgd');
  });
  it('another application releasing the IMEI does not count when one is named', () => {
    const v = view().declare(BODY, { applicationId: 'B' });
    expect(outcomeOf(evaluate(request({ applicationId: 'A' }), v, settings))).toBe('pending/awaiting_kgd');
  });
});

describe('rule 6: evidence without an applicationId', () => {
  it('any eligible release → confirmed, citing the latest', () => {
    const v = view()
      .declare(BODY, { applicationId: 'OLD', decidedAt: '2025-01-01T00:00:00.000Z' })
      .declare(BODY, { applicationId: 'NEW', decidedAt: '2026-01-01T00:00:00.000Z' })
      .declare(BODY, { applicationId: 'REF', status: 'refused' });
    expect(evaluate(request(), v, settings)).toMatchObject({ outcome: 'confirmed', applicationId: 'NEW' });
  });
  it('only refusals → declaration_refused', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'refused' });
    expect(outcomeOf(evaluate(request(), v, settings))).toBe('rejected/declaration_refused');
  });
  it('only ineligible releases → procedure_not_eligible', () => {
    const v = view().declare(BODY, { applicationId: 'A', procedure: '70' });
    expect(outcomeOf(evaluate(request(), v, settings))).toBe('rejected/procedure_not_eligible');
  });
  it('nothing → pending', () => {
    expect(outcomeOf(evaluate(request(), view(), settings))).toBe('pending/awaiting_kgd');
  });
  it('only undecided registrations → pending', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'registered' });
    expect(outcomeOf(evaluate(request(), v, settings))).toBe('pending/awaiting_kgd');
  });
  it('the eligible set is configuration, not code', () => {
    const v = view().declare(BODY, { applicationId: 'A', procedure: '40' });
    expect(outcomeOf(evaluate(request(), v, { eligibleProcedures: new Set(['53']) }))).toBe(
      'rejected/procedure_not_eligible',
    );
  });
});

describe('rule 6: imports from EAEU member states (seed 000 §4(6))', () => {
  // KGD records such an import without a customs procedure: the entry's procedure is null.
  const eaeu = (
    v: MapIndexView,
    overrides: { applicationId?: string; status?: 'released' | 'refused'; decidedAt?: string } = {},
  ) => v.declare(BODY, { applicationId: 'ZV-1', procedure: null, ...overrides });
  const off = { ...settings, acceptEaeuImports: false };

  it('named application: confirmed with evidence eaeu-import and no procedure', () => {
    const d = evaluate(request({ applicationId: 'ZV-1' }), eaeu(view()), settings);
    expect(d).toMatchObject({
      outcome: 'confirmed',
      evidence: 'eaeu-import',
      applicationId: 'ZV-1',
      procedure: null,
      detail: 'KGD records the import from an EAEU member state under application ZV-1',
    });
  });
  it('no application named: the EAEU import is evidence like an eligible release', () => {
    expect(evaluate(request(), eaeu(view()), settings)).toMatchObject({
      outcome: 'confirmed',
      evidence: 'eaeu-import',
      applicationId: 'ZV-1',
    });
  });
  it('the latest of a customs release and an EAEU import is cited, with its own evidence', () => {
    const v = eaeu(view(), { decidedAt: '2026-02-01T00:00:00.000Z' }).declare(BODY, {
      applicationId: 'KZ-1',
      decidedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(evaluate(request(), v, settings)).toMatchObject({
      evidence: 'eaeu-import',
      applicationId: 'ZV-1',
    });
    const w = eaeu(view(), { decidedAt: '2025-12-01T00:00:00.000Z' }).declare(BODY, {
      applicationId: 'KZ-1',
      decidedAt: '2026-01-01T00:00:00.000Z',
    });
    expect(evaluate(request(), w, settings)).toMatchObject({
      evidence: 'kgd-release',
      applicationId: 'KZ-1',
      procedure: '40',
    });
  });
  it('switched off: procedure_not_eligible saying why; a customs release still confirms', () => {
    expect(evaluate(request({ applicationId: 'ZV-1' }), eaeu(view()), off)).toMatchObject({
      outcome: 'rejected',
      reason: 'procedure_not_eligible',
      detail: expect.stringContaining('records an import from an EAEU member state'),
    });
    expect(outcomeOf(evaluate(request(), eaeu(view()), off))).toBe('rejected/procedure_not_eligible');
    const v = eaeu(view()).declare(BODY, { applicationId: 'KZ-1' });
    expect(evaluate(request(), v, off)).toMatchObject({ evidence: 'kgd-release', applicationId: 'KZ-1' });
  });
  it('a refused EAEU record → declaration_refused', () => {
    expect(outcomeOf(evaluate(request(), eaeu(view(), { status: 'refused' }), settings))).toBe(
      'rejected/declaration_refused',
    );
  });
  it('accepted by default: in the declared default, and when a caller leaves the setting out', () => {
    const fromConfig = ruleSettingsOf(loadConfig({ env: {} }).rules);
    expect(fromConfig.acceptEaeuImports).toBe(true);
    expect(outcomeOf(evaluate(request(), eaeu(view()), fromConfig))).toBe('confirmed/eaeu-import');
    expect(outcomeOf(evaluate(request(), eaeu(view()), { eligibleProcedures: new Set(['40']) }))).toBe(
      'confirmed/eaeu-import',
    );
    const offByEnv = ruleSettingsOf(loadConfig({ env: { IMEIFLOW_ACCEPT_EAEU_IMPORTS: 'false' } }).rules);
    expect(outcomeOf(evaluate(request(), eaeu(view()), offByEnv))).toBe('rejected/procedure_not_eligible');
  });
  it('БДИК is told the evidence, with no procedure', () => {
    const d = evaluate(request(), eaeu(view()), settings);
    if (d.outcome !== 'confirmed') throw new Error(`expected a confirmation, got ${d.outcome}`);
    expect(JSON.parse(Buffer.from(confirmationMessage(d, 'now')).toString())).toMatchObject({
      evidence: 'eaeu-import',
      applicationId: 'ZV-1',
      procedure: null,
    });
  });
  it('the trace says what the entry is', () => {
    const steps: string[] = [];
    evaluate(request(), eaeu(view()), settings, (s) => steps.push(s));
    expect(steps).toContain(
      'declarations: application ZV-1, import from an EAEU member state (no customs procedure), released',
    );
  });
});

describe('rule 6: reasoned refusals (seeds 002, 003)', () => {
  const GROUNDS =
    'Нарушение пп. 3 п. 10 Стандарта: не представлен сертификат соответствия; представить сертификат';
  const resultOf = (d: Decision) =>
    JSON.parse(Buffer.from(resultMessage(d, 'now')).toString()) as Record<string, unknown>;

  it('named application refused: the grounds in the detail and as a field of their own', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'refused', grounds: GROUNDS });
    const d = evaluate(request({ applicationId: 'A' }), v, settings);
    expect(d).toMatchObject({
      outcome: 'rejected',
      reason: 'declaration_refused',
      detail: `KGD refused release under application A: ${GROUNDS}`,
      grounds: GROUNDS,
    });
    expect(resultOf(d)).toMatchObject({ reason: 'declaration_refused', grounds: GROUNDS });
  });
  it('revoked with grounds, and the application record when the IMEI is not listed', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'revoked', grounds: 'решение отменено' });
    expect(evaluate(request({ applicationId: 'A' }), v, settings)).toMatchObject({
      detail: 'KGD revoked the release decision of application A: решение отменено',
      grounds: 'решение отменено',
    });
    const w = view().declare('35209900999999', { applicationId: 'B', status: 'refused', grounds: GROUNDS });
    expect(evaluate(request({ applicationId: 'B' }), w, settings)).toMatchObject({
      reason: 'declaration_refused',
      grounds: GROUNDS,
    });
  });
  it('no application named, only refusals: the grounds of the refusal', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'refused', grounds: GROUNDS });
    expect(evaluate(request(), v, settings)).toMatchObject({
      reason: 'declaration_refused',
      grounds: GROUNDS,
    });
  });
  it('a refusal without grounds says so: no grounds on the decision, null on the result', () => {
    const v = view().declare(BODY, { applicationId: 'A', status: 'refused' });
    const d = evaluate(request({ applicationId: 'A' }), v, settings);
    expect(d).toMatchObject({ detail: 'KGD refused release under application A' });
    expect('grounds' in d).toBe(false);
    expect(resultOf(d)).toMatchObject({ reason: 'declaration_refused', grounds: null });
  });
  it('other results carry no grounds field', () => {
    const d = evaluate(request({ imei: '352099001761482' }), view(), settings);
    expect(resultOf(d)).not.toHaveProperty('grounds');
  });
});

describe('rule 6: locally produced devices', () => {
  it('a local-production record → confirmed with local-production', () => {
    const v = view();
    v.local.set(BODY, { producerId: '990340005977', reference: 'ACT-7', producedAt: null });
    expect(evaluate(request({ channel: 'local' }), v, settings)).toMatchObject({
      outcome: 'confirmed',
      evidence: 'local-production',
      applicationId: null,
    });
  });
  it('none → pending; KGD releases do not count for channel local', () => {
    const v = view().declare(BODY, { applicationId: 'A' });
    expect(outcomeOf(evaluate(request({ channel: 'local' }), v, settings))).toBe('pending/awaiting_kgd');
  });
});

describe('rule 10: duplicates and replays', () => {
  const recorded = (v: MapIndexView) => {
    const decision = evaluate(request(), v.declare(BODY, { applicationId: 'A' }), settings);
    v.outcomes.set('op-1', {
      decision: decision as never,
      source: '2/17',
      at: '2026-11-20T10:00:00.000Z',
    });
    return decision;
  };

  it('a requestId with a final outcome → duplicate_request, no second confirmation', () => {
    const v = view();
    recorded(v);
    const verdict = decide(request(), '3/1', v, settings);
    expect(verdict.replayed).toBe(false);
    expect(verdict.decision).toMatchObject({ outcome: 'rejected', reason: 'duplicate_request', imei: IMEI });
  });

  it('the same partition and offset replays the recorded outcome', () => {
    const v = view();
    const original = recorded(v);
    const verdict = decide(request(), '2/17', v, settings);
    expect(verdict).toEqual({ decision: original, replayed: true });
  });

  it('a dry run (no source) of a decided request is a duplicate, never a replay', () => {
    const v = view();
    recorded(v);
    expect(decide(request(), null, v, settings).decision).toMatchObject({ reason: 'duplicate_request' });
  });

  it('the duplicate check comes before rule 2', () => {
    const v = view();
    recorded(v);
    expect(decide(request({ imei: 'garbage' }), null, v, settings).decision).toMatchObject({
      reason: 'duplicate_request',
    });
  });
});

describe('explanations', () => {
  it('trace names every rule consulted, in order', () => {
    const steps: string[] = [];
    decide(request(), null, view().declare(BODY, { applicationId: 'A' }), settings, (s) => steps.push(s));
    expect(steps).toEqual([
      'IMEI 352099001761481: check digit holds',
      'TAC 35209900: Apple iPhone 6 (Smartphone)',
      'block list: not listed',
      'registry: not registered',
      'declarations: application A, procedure 40, released',
    ]);
  });
});
