/**
 * The real service (`imeiflow run`, a child process) against the embedded cluster (`imeiflow
 * broker`, another process): every decision rule and reason code end to end, JSON and msgpack,
 * the late release decision, reviews, revocation and garbage of every kind.
 */
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { harnessSignedHeaders } from '../support/cluster-key.js';
import { APPLE, imei } from '../support/fixtures.js';
import { seeded, useRig } from '../support/rig.js';

interface Result {
  requestId: string;
  imei: string;
  outcome: string;
  reason: string | null;
  evidence?: string;
  detail: string;
  grounds?: string | null;
}
interface Confirmation {
  requestId: string;
  imei: string;
  evidence: string;
  ownerId: string | null;
  msisdn: string | null;
  brand: string;
}
interface DlqEntry {
  topic: string;
  error: string;
  value: string | null;
  valueBytes: number;
  truncated: boolean;
}

const A = (serial: number) => imei(APPLE, serial);
const OWNER = '880101300123';
const OTHER_OWNER = '990340005977';

const rig = useRig({
  name: 'rules',
  stores: {
    data: seeded({
      declarations: [
        'application_id,procedure_code,imei,status',
        `KZ-T-1,40,${A(101)},released`,
        `KZ-T-1,40,${A(102)},released`,
        `KZ-T-1,53,${A(103)},released`,
        `KZ-T-1,40,${A(104)},released`,
        `KZ-T-1,40,${A(105)},released`,
        `KZ-T-1,40,${A(108)},released`,
      ].join('\n'),
      localProduction: `imei,producer_id,reference\n${A(201)},990340005977,ACT-2026-17\n`,
    }),
  },
  kafka: { collect: ['results', 'confirmations', 'dlq', 'revocations'] },
  service: { store: 'data' },
});
const { topics } = rig;

const request = (requestId: string, imeiValue: string, extra: Record<string, unknown> = {}) => ({
  requestId,
  imei: imeiValue,
  operator: 'beeline',
  channel: 'import',
  ...extra,
});

function send(value: Record<string, unknown>): void {
  rig.producer.sendJson(topics.requests!, String(value['imei']), value);
}

const results = () => rig.collector.json<Result>(topics.results!);
const resultsOf = (requestId: string) => results().filter((r) => r.requestId === requestId);
/** Confirmations, without the tombstones a revocation leaves (null values, no confirmation). */
const confirmations = () =>
  rig.collector.json<Confirmation | null>(topics.confirmations!).filter((c): c is Confirmation => c !== null);

async function waitForResult(requestId: string, outcome?: string): Promise<Result> {
  await rig.collector.waitFor(
    () => resultsOf(requestId).some((r) => outcome === undefined || r.outcome === outcome),
    30_000,
    `a ${outcome ?? 'result'} for ${requestId}`,
  );
  return resultsOf(requestId).find((r) => outcome === undefined || r.outcome === outcome)!;
}

describe('every decision rule, end to end', () => {
  it('decides each case with the contract reason code', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        request('c-app', A(101), { applicationId: 'KZ-T-1', ownerId: OWNER, msisdn: '+77011234567' }),
        'confirmed/kgd-release',
      ],
      [request('c-any', A(105)), 'confirmed/kgd-release'],
      [request('c-local', A(201), { channel: 'local' }), 'confirmed/local-production'],
      [request('c-imeisv', `${A(108).slice(0, 14)}07`), 'confirmed/kgd-release'],
      [request('r-invalid', A(102), { channel: 'smuggled' }), 'rejected/invalid_request'],
      [request('r-owner', A(102), { ownerId: '880101300124' }), 'rejected/invalid_request'],
      [request('r-malformed', '12-345'), 'rejected/malformed_imei'],
      [request('r-luhn', `${A(102).slice(0, 14)}${(Number(A(102)[14]) + 1) % 10}`), 'rejected/luhn_mismatch'],
      [request('r-tac', imei('99999999', 1)), 'rejected/tac_unknown'],
      [request('r-block', '356865110000011'), 'rejected/blocklisted'],
      [request('r-refused', '867697040000015'), 'rejected/declaration_refused'],
      [request('r-mismatch', A(150), { applicationId: 'KZ-T-1' }), 'rejected/declaration_mismatch'],
      [request('r-procedure', '353328110000013'), 'rejected/procedure_not_eligible'],
      [request('p-unknown-app', A(151), { applicationId: 'KZ-NOT-YET' }), 'pending/awaiting_kgd'],
    ];
    for (const [value] of cases) send(value);
    await rig.producer.flush();
    for (const [value, expected] of cases) {
      const result = await waitForResult(String(value['requestId']));
      const got =
        result.outcome === 'confirmed'
          ? `confirmed/${result.evidence}`
          : `${result.outcome}/${result.reason}`;
      expect(got, `${value['requestId']}: ${result.detail}`).toBe(expected);
    }
    expect(resultsOf('r-invalid')[0]!.detail).toContain('channel');
    expect(resultsOf('r-luhn')[0]!.detail).toMatch(/^check digit should be \d$/);
    const confirmation = confirmations().find((c) => c.requestId === 'c-app')!;
    expect(confirmation).toMatchObject({
      imei: A(101),
      evidence: 'kgd-release',
      ownerId: OWNER,
      brand: 'Apple',
    });
    // Nothing but confirmed requests reaches БДИК.
    const confirmedIds = new Set(
      results()
        .filter((r) => r.outcome === 'confirmed')
        .map((r) => r.requestId),
    );
    for (const c of confirmations()) expect(confirmedIds.has(c.requestId)).toBe(true);
  });

  it('msgpack requests are decided like JSON ones', async () => {
    rig.producer.send(topics.requests!, A(103), Buffer.from(pack(request('c-msgpack', A(103)))), [
      { 'content-type': 'application/msgpack' },
    ]);
    await rig.producer.flush();
    expect(await waitForResult('c-msgpack')).toMatchObject({ outcome: 'confirmed', evidence: 'kgd-release' });
  });

  it('a repeated requestId is a duplicate: no second outcome of its own, no second confirmation', async () => {
    await waitForResult('c-app', 'confirmed');
    send(request('c-app', A(101), { applicationId: 'KZ-T-1', ownerId: OWNER }));
    await rig.producer.flush();
    await rig.collector.waitFor(() => resultsOf('c-app').length === 2, 30_000, 'the duplicate answer');
    expect(resultsOf('c-app')[1]).toMatchObject({ outcome: 'rejected', reason: 'duplicate_request' });
    expect(confirmations().filter((c) => c.requestId === 'c-app')).toHaveLength(1);
  });

  it('the same owner re-registering is confirmed without a second БДИК message; another owner goes to review', async () => {
    send(request('oc-1', A(104), { ownerId: OWNER, msisdn: '+77011110000' }));
    send(request('oc-2', A(104), { ownerId: OWNER, msisdn: '+77011110000' }));
    send(request('oc-3', A(104), { ownerId: OTHER_OWNER }));
    await rig.producer.flush();
    expect(await waitForResult('oc-2')).toMatchObject({ outcome: 'confirmed' });
    expect(await waitForResult('oc-3')).toMatchObject({ outcome: 'review', reason: 'owner_conflict' });
    expect(
      confirmations()
        .filter((c) => c.imei === A(104))
        .map((c) => c.requestId),
    ).toEqual(['oc-1']);
  });
});

describe('late decisions, reviews and revocations', () => {
  it('pending until the release decision arrives, then confirmed; a revocation withdraws it', async () => {
    send(request('late-1', A(301), { ownerId: OWNER }));
    await rig.producer.flush();
    expect(await waitForResult('late-1')).toMatchObject({ outcome: 'pending', reason: 'awaiting_kgd' });
    rig.producer.sendJson(topics.decisions!, 'KZ-LATE', {
      applicationId: 'KZ-LATE',
      procedure: '40',
      status: 'released',
      hsCode: '8517130000',
      declarantId: '990340005977',
      imeis: [A(301)],
      decidedAt: '2026-11-20T09:00:00Z',
    });
    await rig.producer.flush();
    expect(await waitForResult('late-1', 'confirmed')).toMatchObject({ evidence: 'kgd-release' });
    expect(confirmations().filter((c) => c.requestId === 'late-1')).toHaveLength(1);

    rig.producer.sendJson(topics.decisions!, 'KZ-LATE', {
      applicationId: 'KZ-LATE',
      procedure: '40',
      status: 'revoked',
      imeis: [],
      decidedAt: '2026-11-21T09:00:00Z',
    });
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => rig.collector.of(topics.revocations!).length > 0,
      30_000,
      'a revocation',
    );
    expect(rig.collector.json<{ imei: string; requestId: string }>(topics.revocations!)[0]).toMatchObject({
      imei: A(301),
      requestId: 'late-1',
    });
    // The withdrawn confirmation is tombstoned after the revocation, so compaction forgets its owner.
    await rig.collector.waitFor(
      () => rig.collector.of(topics.confirmations!).some((m) => m.key === A(301) && m.value === null),
      30_000,
      'the withdrawn confirmation tombstoned',
    );
  });

  it('KGD decisions as KGD writes them: a refusal reaches the result without its grounds, an EAEU import confirms', async () => {
    send(request('grounds-1', A(311)));
    send(request('eaeu-1', A(312), { ownerId: OWNER }));
    await rig.producer.flush();
    await waitForResult('grounds-1', 'pending');
    await waitForResult('eaeu-1', 'pending');
    const grounds = 'не представлен сертификат соответствия; представить сертификат';
    rig.producer.sendJson(topics.decisions!, 'KZ-REFUSED', {
      applicationId: 'KZ-REFUSED',
      procedure: 'ИМ 40 00 000',
      status: 'refused',
      hsCode: '8517 13 000 0',
      imeis: [A(311)],
      decidedAt: '2026-11-20T09:00:00Z',
      grounds,
    });
    rig.producer.sendJson(topics.decisions!, 'ZV-EAEU', {
      applicationId: 'ZV-EAEU',
      importKind: 'eaeu',
      status: 'released',
      imeis: [A(312)],
      decidedAt: '2026-11-20T09:00:00Z',
    });
    await rig.producer.flush();
    // The operators' results take the reduced customs view by default (issue 22): why, without
    // the application or KGD's grounds, which KGD sends the declarant itself (seed 002 §8(3)).
    const refused = await waitForResult('grounds-1', 'rejected');
    expect(refused).toMatchObject({ reason: 'declaration_refused' });
    expect(refused.detail).toContain('KGD refused or revoked the release');
    expect(JSON.stringify(refused)).not.toContain('KZ-REFUSED');
    expect(JSON.stringify(refused)).not.toContain('сертификат');
    expect(refused).not.toHaveProperty('grounds');
    expect(await waitForResult('eaeu-1', 'confirmed')).toMatchObject({ evidence: 'eaeu-import' });
    expect(confirmations().filter((c) => c.requestId === 'eaeu-1')).toEqual([
      expect.objectContaining({ evidence: 'eaeu-import', applicationId: 'ZV-EAEU', procedure: null }),
    ]);
  });

  it('a reviewer confirms one waiting request and rejects another', async () => {
    send(request('rv-1', A(401)));
    send(request('rv-2', A(402)));
    await rig.producer.flush();
    await waitForResult('rv-1', 'pending');
    await waitForResult('rv-2', 'pending');
    const partitionOf = (id: string) =>
      rig.collector.of(topics.results!).find((m) => m.key === id)!.partition;
    // Both still wait for KGD: confirming one before KGD answers is an explicit override (seed 000
    // §10 leaves the reviewer the last word; the control plane asks for `"override": true`).
    const command = (requestId: string, body: string, decision: string) => ({
      type: 'review',
      body,
      requestId,
      decision,
      reason: 'customs paper checked',
      reviewer: 'a.nurlanova',
      ...(decision === 'confirm' ? { override: true } : {}),
      issuedAt: new Date().toISOString(),
    });
    // Commands are signed with the cluster key, as an instance's control plane signs them.
    const sendCommand = (requestId: string, device: string, decision: string, signed = true) => {
      const body = device.slice(0, 14);
      const value = Buffer.from(JSON.stringify(command(requestId, body, decision)));
      const headers = signed ? harnessSignedHeaders('commands', body, value) : undefined;
      rig.producer.send(topics.commands!, body, value, headers, partitionOf(requestId));
    };
    // Unsigned (anyone who can write the topic): refused, into the DLQ, not carried out.
    const dlqBefore = rig.collector.of(topics.dlq!).length;
    sendCommand('rv-1', A(401), 'confirm', false);
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => rig.collector.of(topics.dlq!).length > dlqBefore,
      30_000,
      'the unsigned command in the DLQ',
    );
    const refused = rig.collector.json<DlqEntry>(topics.dlq!).slice(dlqBefore);
    expect(refused).toEqual([
      expect.objectContaining({ topic: topics.commands, error: expect.stringContaining('not signed') }),
    ]);
    expect(resultsOf('rv-1').map((r) => r.outcome)).toEqual(['pending']);
    const metrics = await (await fetch(`http://127.0.0.1:${rig.service.port}/metrics`)).text();
    expect(metrics).toContain(
      `imeiflow_internal_records_refused_total{topic="${topics.commands}",reason="unsigned"} 1`,
    );
    sendCommand('rv-1', A(401), 'confirm');
    sendCommand('rv-2', A(402), 'reject');
    await rig.producer.flush();
    expect(await waitForResult('rv-1', 'confirmed')).toMatchObject({ evidence: 'manual' });
    expect(await waitForResult('rv-2', 'rejected')).toMatchObject({ reason: 'review_rejected' });
    expect(confirmations().find((c) => c.requestId === 'rv-1')).toMatchObject({ evidence: 'manual' });
  });
});

describe('bad input goes to the DLQ and the stream goes on', () => {
  it('routes every kind of garbage to the DLQ with its reason', async () => {
    const before = rig.collector.of(topics.dlq!).length;
    const garbage: [string, Buffer | null, string][] = [
      ['not JSON', Buffer.from('{"requestId": "x",'), 'not JSON'],
      [
        'numeric requestId',
        Buffer.from(JSON.stringify(request('x', A(1)) && { requestId: 7, imei: A(1) })),
        'requestId must be',
      ],
      [
        'missing requestId',
        Buffer.from(JSON.stringify({ imei: A(1), operator: 'o', channel: 'import' })),
        'requestId is missing',
      ],
      ['empty value', Buffer.alloc(0), 'empty message value'],
      ['null value', null, 'empty message value'],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 'not valid UTF-8'],
      ['1 MB value', Buffer.alloc(1024 * 1024, 0x61), 'the limit is'],
      ['a JSON array', Buffer.from('[1,2,3]'), 'not an object'],
    ];
    for (const [, value] of garbage) rig.producer.send(topics.requests!, 'garbage', value);
    rig.producer.send(topics.requests!, 'garbage', Buffer.from([0xc1, 0xc1]), [
      { 'content-type': 'application/msgpack' },
    ]);
    send(request('after-garbage', A(105)));
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => rig.collector.of(topics.dlq!).length >= before + garbage.length + 1,
      30_000,
      'DLQ entries',
    );
    const entries = rig.collector.json<DlqEntry>(topics.dlq!).slice(before);
    for (const [what, , error] of garbage) {
      expect(
        entries.some((e) => e.error.includes(error)),
        what,
      ).toBe(true);
    }
    const big = entries.find((e) => e.valueBytes === 1024 * 1024)!;
    expect(big).toMatchObject({ truncated: true, topic: topics.requests });
    const notJson = entries.find((e) => e.error.startsWith('not JSON'))!;
    expect(Buffer.from(notJson.value!, 'base64').toString()).toBe('{"requestId": "x",');
    // Wrong field types with a usable requestId are answered, not dead-lettered.
    send(request('typed-wrong', 352099001761481 as unknown as string));
    await rig.producer.flush();
    expect(await waitForResult('typed-wrong')).toMatchObject({
      reason: 'invalid_request',
      detail: expect.stringContaining('imei must be a string'),
    });
    expect(await waitForResult('after-garbage')).toMatchObject({ outcome: 'confirmed' });
  });

  it('a bad release decision goes to the DLQ and later ones still apply', async () => {
    const before = rig.collector.of(topics.dlq!).length;
    rig.producer.send(topics.decisions!, 'bad', 'not a decision');
    rig.producer.sendJson(topics.decisions!, 'bad', {
      applicationId: 'KZ-BAD',
      procedure: '4',
      status: 'released',
      imeis: [],
      decidedAt: 'x',
    });
    rig.producer.sendJson(topics.decisions!, 'KZ-MIXED', {
      applicationId: 'KZ-MIXED',
      procedure: '40',
      status: 'released',
      imeis: [A(501), '123'],
      decidedAt: '2026-11-20T09:00:00Z',
    });
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => rig.collector.of(topics.dlq!).length >= before + 3,
      30_000,
      'decision DLQ entries',
    );
    const errors = rig.collector
      .json<DlqEntry>(topics.dlq!)
      .slice(before)
      .map((e) => e.error);
    expect(errors.some((e) => e.includes('procedure'))).toBe(true);
    expect(errors.some((e) => e.includes('invalid IMEIs: 123'))).toBe(true);
    send(request('mixed-ok', A(501)));
    await rig.producer.flush();
    expect(await waitForResult('mixed-ok')).toMatchObject({ outcome: 'confirmed' });
  });

  it('a malformed command goes to the DLQ', async () => {
    const before = rig.collector.of(topics.dlq!).length;
    // Signed: what an instance with a bug might write (an unsigned one is refused before it is read).
    const value = Buffer.from('{"type":"review"}');
    rig.producer.send(topics.commands!, 'x', value, harnessSignedHeaders('commands', 'x', value), 0);
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => rig.collector.of(topics.dlq!).length > before,
      30_000,
      'a command DLQ entry',
    );
    expect(rig.collector.json<DlqEntry>(topics.dlq!)[before]).toMatchObject({
      topic: topics.commands,
      error: expect.stringContaining('invalid command'),
    });
  });

  it('the service is still healthy', async () => {
    const response = await fetch(`http://127.0.0.1:${rig.service.port}/readyz`);
    expect(response.status).toBe(200);
  });
});
