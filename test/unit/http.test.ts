/**
 * The control plane over a real LMDB store, through Fastify's inject: every route's success and
 * failure answers (problem+json), roles, token expiry and revocation, the basis rule, and what
 * the audit log records. Reviews that reach Kafka are covered by the integration tests.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { addMonths, monthOfInstant } from '../../src/domain/kgd-export.js';
import { buildControlPlane } from '../../src/http/app.js';
import { PROBLEMS } from '../../src/http/problem.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { AuditLog } from '../../src/security/audit-log.js';
import type { Role } from '../../src/security/roles.js';
import { TokenService } from '../../src/security/tokens.js';
import { openStore, type Store } from '../../src/store/store.js';
import { APPLE, imei, seedStore } from '../support/fixtures.js';
import { putSealed } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const dataDir = join(tempDir(), 'data');
let store: Store;
let app: FastifyInstance;
let audit: AuditLog;
let tokens: TokenService;
const token: Partial<Record<Role | 'stale' | 'revoked', string>> = {};
const DEVICE = imei(APPLE, 42);

beforeAll(async () => {
  await seedStore(dataDir);
  store = openStore({ dataDir });
  const config = loadConfig({ env: { IMEIFLOW_DATA_DIR: dataDir } });
  tokens = new TokenService(store, 60);
  audit = new AuditLog(store, dataDir);
  for (const role of ['operator', 'kgd', 'reviewer', 'sre', 'admin'] as const)
    token[role] = await tokens.create(role, role);
  token.stale = await tokens.create('stale', 'reviewer', new Date(Date.now() - 61 * 86_400_000));
  token.revoked = await tokens.create('leaver', 'admin');
  await tokens.revoke('leaver');
  // As the service stores them: owners and phones sealed under the store's subject keys.
  await putSealed(store, (put) => {
    put.registry(DEVICE.slice(0, 14), {
      requestId: 'r-1',
      partition: 2,
      imei: DEVICE,
      ownerId: '880101300123',
      msisdn: '+77011234567',
      evidence: 'kgd-release',
      operator: 'beeline',
      applicationId: 'KZ-2025-000042',
      procedure: '40',
      at: '2026-11-20T10:00:00.000Z',
    });
    put.reviews('35209900000777', [
      {
        request: {
          requestId: 'wait-1',
          imei: imei(APPLE, 777),
          operator: 'kcell',
          channel: 'import',
          ownerId: '990340005977',
        },
        partition: 1,
        source: '1/5',
        stage: 'review',
        reason: 'kgd_timeout',
        detail: 'no KGD decision by the deadline',
        since: '2026-11-20T10:00:00.000Z',
        deadline: null,
      },
    ]);
    put.reviews('35209900000778', [
      {
        request: { requestId: 'wait-kgd', imei: imei(APPLE, 778), operator: 'kcell', channel: 'import' },
        partition: 1,
        source: '1/6',
        stage: 'awaiting_kgd',
        reason: 'awaiting_kgd',
        detail: 'no KGD release decision lists this IMEI yet',
        since: '2026-11-20T10:00:00.000Z',
        deadline: '2026-11-23T08:00:00.000Z',
      },
    ]);
  });
  app = await buildControlPlane({
    config,
    log: createLogger('silent'),
    store,
    tokens,
    audit,
    metrics: new Metrics({ defaultMetrics: false }),
    info: { version: 'test', embeddedKafka: true, brokers: 'none', topics: {}, partitions: 4, workers: 1 },
    notReadyReason: () => null,
    ownedPartitions: () => [0, 1, 2, 3],
  });
});

afterAll(async () => {
  await app?.close();
  await audit?.close();
  await store?.close();
});

const as = (who: keyof typeof token, headers: Record<string, string> = {}) => ({
  authorization: `Bearer ${token[who]}`,
  ...headers,
});

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  type: keyof typeof PROBLEMS,
): void {
  expect(response.statusCode).toBe(PROBLEMS[type].status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  expect(response.json()).toMatchObject({
    type: `https://imeiflow.kz/problems/${type}`,
    status: PROBLEMS[type].status,
  });
}

const auditActions = () => audit.query({ limit: 10_000 }).map((e) => `${e.actor}:${e.action}`);

describe('authentication and roles', () => {
  it('no token, an unknown token, a revoked one and one idle for 60 days are refused', async () => {
    expectProblem(await app.inject({ url: `/v1/devices/${DEVICE}` }), 'unauthorized');
    expectProblem(
      await app.inject({ url: `/v1/devices/${DEVICE}`, headers: { authorization: 'Bearer ifl_nope' } }),
      'unauthorized',
    );
    expectProblem(
      await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('revoked') }),
      'token-revoked',
    );
    expectProblem(await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('stale') }), 'token-expired');
    // Blocked for good: even a second try fails, and the account shows it.
    expectProblem(await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('stale') }), 'token-expired');
    await store.tokens.committed;
    expect(tokens.list().find((t) => t.name === 'stale')?.blockedAt).not.toBeNull();
  });

  it('a role without the permission gets 403', async () => {
    expectProblem(await app.inject({ url: '/v1/reviews', headers: as('operator') }), 'forbidden');
    expectProblem(await app.inject({ url: '/v1/audit', headers: as('reviewer') }), 'forbidden');
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/tac',
        headers: as('kgd', { 'content-type': 'text/csv' }),
        payload: 'x',
      }),
      'forbidden',
    );
  });

  it('health, readiness, metrics, info and the docs are open', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/v1/info', '/docs/json', '/review']) {
      expect((await app.inject({ url })).statusCode, url).toBe(200);
    }
    const openapi = (await app.inject({ url: '/docs/json' })).json() as { paths: Record<string, unknown> };
    for (const path of [
      '/v1/devices/{imei}',
      '/v1/verify',
      '/v1/tac',
      '/v1/declarations',
      '/v1/blocklist',
      '/v1/reviews',
      '/v1/reviews/{requestId}',
      '/v1/audit',
      '/v1/purge',
    ]) {
      expect(openapi.paths[path], path).toBeDefined();
    }
  });
});

describe('GET /v1/devices/:imei', () => {
  it('answers status, TAC and evidence without personal data', async () => {
    const response = await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('sre') });
    expect(response.statusCode).toBe(200);
    const body = response.json() as {
      status: string;
      registry: Record<string, unknown>;
      personalData: boolean;
    };
    expect(body).toMatchObject({ status: 'registered', personalData: false, tac: { brand: 'Apple' } });
    expect(body.registry).not.toHaveProperty('ownerId');
  });

  it('a bad IMEI is a problem naming the reason', async () => {
    const response = await app.inject({ url: '/v1/devices/35-2099', headers: as('operator') });
    expectProblem(response, 'invalid-imei');
    expect(response.json()).toMatchObject({ reason: 'malformed_imei' });
  });

  it('personal data needs a permitted role and a basis, and the read is audited', async () => {
    expectProblem(
      await app.inject({ url: `/v1/devices/${DEVICE}?include=personal`, headers: as('reviewer') }),
      'basis-required',
    );
    expectProblem(
      await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('sre', { 'x-basis': 'INC-1' }) }),
      'forbidden',
    );
    const before = auditActions().length;
    const response = await app.inject({
      url: `/v1/devices/${DEVICE}`,
      headers: as('reviewer', { 'x-basis': 'case 2026/118' }),
    });
    expect(response.json()).toMatchObject({
      personalData: true,
      registry: { ownerId: '880101300123', msisdn: '+77011234567' },
    });
    const entries = audit.query({ limit: 10_000 }).slice(before);
    expect(entries).toEqual([
      expect.objectContaining({
        actor: 'reviewer',
        role: 'reviewer',
        action: 'device.read-personal',
        basis: 'case 2026/118',
        target: DEVICE,
      }),
    ]);
    expect(entries[0]!.atAstana).toMatch(/\+05:00$/);
  });

  it('customs declarations per role: full for kgd, reviewer, admin; reduced for operator; none for sre', async () => {
    const declared = '352099001761481';
    for (const role of ['kgd', 'reviewer', 'admin'] as const) {
      const body = (await app.inject({ url: `/v1/devices/${declared}`, headers: as(role) })).json();
      expect(body, role).toMatchObject({
        customsView: 'full',
        declarations: [
          { applicationId: 'KZ-2025-000042', procedure: '40', status: 'released', hsCode: '8517130000' },
        ],
      });
    }
    const operator = await app.inject({ url: `/v1/devices/${declared}`, headers: as('operator') });
    expect(operator.json()).toMatchObject({
      customsView: 'reduced',
      declarations: [{ status: 'released', provesEntry: true }],
    });
    const sre = await app.inject({ url: `/v1/devices/${declared}`, headers: as('sre') });
    expect(sre.json()).toMatchObject({ customsView: 'none', declarations: null });
    for (const response of [operator, sre]) {
      expect(response.body).not.toContain('KZ-2025-000042');
      expect(response.body).not.toContain('8517130000');
    }
    // A registration's application and procedure are customs data too.
    const registered = (role: Role) => app.inject({ url: `/v1/devices/${DEVICE}`, headers: as(role) });
    expect((await registered('admin')).json()).toMatchObject({
      registry: { applicationId: 'KZ-2025-000042', procedure: '40', evidence: 'kgd-release' },
    });
    for (const role of ['operator', 'sre'] as const) {
      const response = await registered(role);
      expect(response.json(), role).toMatchObject({ registry: { evidence: 'kgd-release' } });
      expect(response.body, role).not.toContain('KZ-2025-000042');
    }
  });

  it('a reduced declaration that does not prove entry says so', async () => {
    // Procedure 80 (transit) of the samples: released, but no proof of legal entry.
    const response = await app.inject({ url: '/v1/devices/353328110000013', headers: as('operator') });
    expect(response.json()).toMatchObject({ declarations: [{ status: 'released', provesEntry: false }] });
  });

  it('reads without personal data are not audited', async () => {
    const before = auditActions().length;
    await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('operator') });
    expect(auditActions().length).toBe(before);
  });
});

describe('POST /v1/verify', () => {
  it('explains a decision without publishing anything', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/verify',
      headers: as('operator'),
      payload: { requestId: 'dry-1', imei: '352099001761481', operator: 'beeline', channel: 'import' },
    });
    expect(response.json()).toMatchObject({
      decision: { outcome: 'confirmed', evidence: 'kgd-release' },
      steps: expect.any(Array),
    });
  });

  const dryRun = (who: keyof typeof token, payload: Record<string, unknown>, headers = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/verify',
      headers: as(who, headers),
      payload: { requestId: 'dry-2', imei: DEVICE, operator: 'kcell', channel: 'import', ...payload },
    });

  it("a dry run's steps quote other applications only for roles with the full customs view", async () => {
    const payload = { requestId: 'dry-3', imei: '352099001761481', operator: 'beeline', channel: 'import' };
    const steps = async (who: 'operator' | 'reviewer') =>
      (
        (await app.inject({ method: 'POST', url: '/v1/verify', headers: as(who), payload })).json() as {
          steps: string[];
        }
      ).steps;
    expect(await steps('reviewer')).toContain(
      'declarations: application KZ-2025-000042, procedure 40, released',
    );
    const reduced = await steps('operator');
    expect(reduced.join('\n')).not.toContain('KZ-2025-000042');
    expect(reduced).toContain(
      'declarations: listed, details withheld (customs view reduced for role operator)',
    );
  });

  it('a registered device: says that it is registered, never who nor whether the owner matches; each dry run is audited', async () => {
    const before = auditActions().length;
    const answers = new Set<string>();
    for (const payload of [
      {},
      { msisdn: '+77010000001' },
      { ownerId: '990340005977' },
      { ownerId: '880101300123' },
    ]) {
      const response = await dryRun('operator', payload);
      expect(response.statusCode).toBe(200);
      const text = response.body;
      expect(text).not.toContain('880101300123');
      expect(text).not.toContain('+77011234567');
      expect(response.json()).toMatchObject({
        decision: { outcome: 'withheld' },
        personalData: false,
        withheld: true,
      });
      expect(response.json()).not.toHaveProperty('registeredOwner');
      answers.add(text);
    }
    // A guessed owner, right or wrong: one answer (issue 22: a dry run is no ownership oracle).
    expect(answers.size).toBe(1);
    expect(auditActions().slice(before)).toEqual(Array.from({ length: 4 }, () => 'operator:verify.dry-run'));
  });

  it('the same owner without a phone, with a basis: confirmed with the recorded phone, audited as a read', async () => {
    const response = await dryRun('reviewer', { ownerId: '880101300123' }, { 'x-basis': 'case 2026/6' });
    expect(response.json()).toMatchObject({
      decision: { outcome: 'confirmed', ownerId: '880101300123', msisdn: '+77011234567', notify: false },
      personalData: true,
      withheld: false,
    });
  });

  it('with a role that may read personal data and a basis, shows the recorded owner, audited', async () => {
    const before = audit.query({ limit: 10_000 }).length;
    const response = await dryRun('reviewer', { ownerId: '990340005977' }, { 'x-basis': 'case 2026/7' });
    expect(response.json()).toMatchObject({
      decision: { outcome: 'review', reason: 'owner_conflict' },
      personalData: true,
      withheld: false,
      registeredOwner: { ownerId: '880101300123', msisdn: '+77011234567', requestId: 'r-1' },
    });
    expect(audit.query({ limit: 10_000 }).slice(before)).toEqual([
      expect.objectContaining({
        actor: 'reviewer',
        action: 'verify.read-personal',
        basis: 'case 2026/7',
        target: `${DEVICE} (registry consulted: registered, owner shown)`,
      }),
    ]);
    // This operator token names no operator (created before operators were tenants).
    expectProblem(
      await dryRun('operator', { ownerId: '880101300123' }, { 'x-basis': 'ticket 12' }),
      'operator-unbound',
    );
  });

  it('an unregistered device discloses nothing; the dry run is audited, the registry consulted', async () => {
    const before = audit.query({ limit: 10_000 }).length;
    const response = await dryRun(
      'reviewer',
      { imei: '352099001761481', ownerId: '990340005977' },
      { 'x-basis': 'case 1' },
    );
    expect(response.json()).toMatchObject({
      decision: { outcome: 'confirmed', ownerId: '990340005977' },
      personalData: false,
      withheld: false,
    });
    expect(audit.query({ limit: 10_000 }).slice(before)).toEqual([
      expect.objectContaining({
        actor: 'reviewer',
        action: 'verify.dry-run',
        basis: 'case 1',
        target: '352099001761481 (registry consulted: not registered)',
      }),
    ]);
  });

  it('an invalid field is a rejected decision; garbage is a problem', async () => {
    const invalid = await app.inject({
      method: 'POST',
      url: '/v1/verify',
      headers: as('operator'),
      payload: { requestId: 'x', imei: 'y', operator: 'o', channel: 'boat' },
    });
    expect(invalid.json()).toMatchObject({ decision: { reason: 'invalid_request' } });
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/verify',
        headers: as('operator'),
        payload: { imei: 'y' },
      }),
      'invalid-request',
    );
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/verify',
        headers: as('operator', { 'content-type': 'application/json' }),
        payload: '{"requestId":',
      }),
      'invalid-request',
    );
    expectProblem(
      await app.inject({ method: 'POST', url: '/v1/verify', headers: as('operator'), payload: [1, 2] }),
      'invalid-request',
    );
  });
});

describe('loads over HTTP', () => {
  it('loads a block list and reports rejected rows by line; the load is audited', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/blocklist',
      headers: as('operator', { 'content-type': 'text/csv' }),
      payload: `imei,reason\n${imei(APPLE, 9)},stolen\nnot-an-imei,x\n`,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ rowsLoaded: 1, rowsRejected: 1, rejections: [{ line: 3 }] });
    expect(store.blocklist.get(imei(APPLE, 9).slice(0, 14))).toMatchObject({ reason: 'stolen' });
    expect(auditActions()).toContain('operator:load.blocklist');
  });

  it('a load records its X-Basis (e.g. the covering letter), if given', async () => {
    await app.inject({
      method: 'POST',
      url: '/v1/blocklist',
      headers: as('admin', { 'content-type': 'text/csv', 'x-basis': 'letter 7' }),
      payload: `imei,reason\n${imei(APPLE, 10)},stolen\n`,
    });
    expect(audit.query({ limit: 10_000 }).at(-1)).toMatchObject({
      action: 'load.blocklist',
      basis: 'letter 7',
    });
  });

  it('a KGD export records its month (from ?month= or its dates); GET /v1/info shows the last one', async () => {
    // The export status is for authenticated callers (any role).
    const info = async () =>
      (await app.inject({ url: '/v1/info', headers: as('sre') })).json() as {
        kgdExport: Record<string, unknown>;
      };
    expect((await info()).kgdExport).toMatchObject({ lastMonth: null, overdue: true });
    // Last month (Astana) has ended whatever today is.
    const lastMonth = addMonths(monthOfInstant(new Date(), 300), -1);
    const upload = (url: string) =>
      app.inject({
        method: 'POST',
        url,
        headers: as('kgd', { 'content-type': 'text/csv' }),
        payload: `ID заявки,Код таможенной процедуры,IMEI,decided_at\nKZ-EXP-1,40,${imei(APPLE, 61)},${lastMonth}-15T10:00:00Z\n`,
      });
    expectProblem(await upload('/v1/declarations?month=2026-13'), 'invalid-request');
    const fromDates = await upload(`/v1/declarations?file=${encodeURIComponent('выгрузка.csv')}`);
    expect(fromDates.statusCode).toBe(200);
    expect(fromDates.json()).toMatchObject({ kgdExport: { month: lastMonth, from: 'decisions' } });
    expect(store.exports.get(`kgd/${lastMonth}`)).toMatchObject({
      file: 'выгрузка.csv',
      rows: 1,
      actor: 'kgd',
    });
    expect(audit.query({ limit: 10_000 }).at(-1)).toMatchObject({
      action: 'load.declarations',
      target: `1 rows loaded, 0 rejected; KGD export of ${lastMonth}`,
    });
    const earlier = addMonths(lastMonth, -1);
    const given = await upload(`/v1/declarations?month=${earlier}`);
    expect(given.json()).toMatchObject({ kgdExport: { month: earlier, from: 'option' } });
    expect(store.exports.get(`kgd/${earlier}`)).toMatchObject({ file: 'upload', monthFrom: 'option' });
    // The latest month loaded, not the latest load; last month's is in, so nothing is overdue.
    expect((await info()).kgdExport).toMatchObject({ lastMonth, rows: 1, overdue: false });
    expect((await info()).kgdExport).not.toHaveProperty('actor');
  });

  it('a file with the wrong header is a problem and loads nothing', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/tac',
      headers: as('admin', { 'content-type': 'text/csv' }),
      payload: 'imei,reason\n1,2\n',
    });
    expectProblem(response, 'load-failed');
    expect(response.json()).toMatchObject({ code: 'LOAD_HEADER_INVALID' });
    expect((response.json() as { detail: string }).detail).not.toContain(dataDir);
  });

  it('an unsupported content type is 415', async () => {
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/tac',
        headers: as('admin', { 'content-type': 'application/json' }),
        payload: {},
      }),
      'unsupported-media-type',
    );
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/declarations',
        headers: as('kgd', { 'content-type': 'image/png' }),
        payload: 'x',
      }),
      'unsupported-media-type',
    );
  });
});

describe('the review page', () => {
  it('answers in the language asked for: ?lang=, else Accept-Language, else Russian', async () => {
    const page = async (url: string, headers: Record<string, string> = {}) => {
      const response = await app.inject({ url, headers });
      expect(response.headers['vary']).toContain('accept-language');
      return { language: response.headers['content-language'], html: response.body };
    };
    expect((await page('/review', { 'accept-language': 'kk-KZ,ru;q=0.5' })).language).toBe('kk');
    expect((await page('/review?lang=en', { 'accept-language': 'kk' })).language).toBe('en');
    const russian = await page('/review');
    expect(russian.language).toBe('ru');
    expect(russian.html).toContain('<html lang="ru">');
  });
});

describe('reviews', () => {
  it('lists the queue without personal data', async () => {
    const response = await app.inject({ url: '/v1/reviews', headers: as('reviewer') });
    expect(response.json()).toMatchObject({
      total: 1,
      items: [{ requestId: 'wait-1', stage: 'review', reason: 'kgd_timeout' }],
    });
    expect(
      (await app.inject({ url: '/v1/reviews?stage=all', headers: as('reviewer') })).json(),
    ).toMatchObject({
      total: 2,
      // KGD's stage ends two working hours before the request is due: Monday 23 November 15:00.
      items: [{ requestId: 'wait-1' }, { requestId: 'wait-kgd', due: '2026-11-23T15:00:00+05:00' }],
    });
    expect(JSON.stringify(response.json())).not.toContain('990340005977');
    // Stored by an earlier build without a review deadline: one working day from `since`
    // (Friday 20 November 15:00 Astana → Monday 23 November 15:00), long past.
    const [item] = (response.json() as { items: { deadline: string; remainingSeconds: number }[] }).items;
    expect(item?.deadline).toBe('2026-11-23T10:00:00.000Z');
    expect(item?.remainingSeconds).toBeCloseTo(
      (Date.parse('2026-11-23T10:00:00.000Z') - Date.now()) / 1000,
      -2,
    );
  });

  it('shows one request with the evidence; its owner masked, in full only with a basis, audited', async () => {
    const before = auditActions().filter((a) => a === 'reviewer:review.read-personal').length;
    const masked = await app.inject({ url: '/v1/reviews/wait-1', headers: as('reviewer') });
    expect(masked.json()).toMatchObject({
      ownerId: '99••••••••77',
      personalData: false,
      customsView: 'full',
      declarations: expect.any(Array),
      conflict: null,
      // Astana time (seed 001 §30): one working day from Friday 20 November 15:00.
      receivedAt: '2026-11-20T15:00:00+05:00',
      due: '2026-11-23T15:00:00+05:00',
    });
    expect(JSON.stringify(masked.json())).not.toContain('990340005977');
    expect(auditActions().filter((a) => a === 'reviewer:review.read-personal')).toHaveLength(before);
    const response = await app.inject({
      url: '/v1/reviews/wait-1',
      headers: as('reviewer', { 'x-basis': 'ticket 9' }),
    });
    expect(response.json()).toMatchObject({ ownerId: '990340005977', personalData: true });
    expect(auditActions().filter((a) => a === 'reviewer:review.read-personal')).toHaveLength(before + 1);
    expectProblem(
      await app.inject({ url: '/v1/reviews/nobody', headers: as('reviewer', { 'x-basis': 'x' }) }),
      'not-found',
    );
  });

  it('validates a decision and answers 404 for an unknown request', async () => {
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/reviews/wait-1',
        headers: as('reviewer'),
        payload: { decision: 'maybe', reason: 'x' },
      }),
      'invalid-request',
    );
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/reviews/wait-1',
        headers: as('reviewer'),
        payload: { decision: 'confirm', reason: '' },
      }),
      'invalid-request',
    );
    // Still waiting for KGD: a confirmation needs an explicit override.
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/reviews/wait-kgd',
        headers: as('reviewer'),
        payload: { decision: 'confirm', reason: 'papers seen' },
      }),
      'kgd-pending',
    );
    expectProblem(
      await app.inject({
        method: 'POST',
        url: '/v1/reviews/ghost',
        headers: as('reviewer'),
        payload: { decision: 'confirm', reason: 'ok' },
      }),
      'not-found',
    );
  });
});

describe('GET /v1/audit', () => {
  it('filters by actor, action and time', async () => {
    const response = await app.inject({
      url: '/v1/audit?actor=reviewer&action=device.read-personal',
      headers: as('admin'),
    });
    const body = response.json() as { entries: { actor: string; action: string }[] };
    expect(body.entries.length).toBeGreaterThan(0);
    expect(body.entries.every((e) => e.actor === 'reviewer' && e.action === 'device.read-personal')).toBe(
      true,
    );
    const none = await app.inject({ url: '/v1/audit?to=2000-01-01', headers: as('admin') });
    expect(none.json()).toMatchObject({ count: 0 });
    expectProblem(
      await app.inject({ url: '/v1/audit?from=yesterday', headers: as('admin') }),
      'invalid-request',
    );
  });

  it('unknown routes are problems too', async () => {
    expectProblem(await app.inject({ url: '/v2/nothing' }), 'not-found');
  });
});
