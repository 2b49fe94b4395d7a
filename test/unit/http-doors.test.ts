/**
 * The control plane's doors (issue 22, point 4), through Fastify's inject over a real LMDB store:
 * uploads refused past `http.maxUploadBytes` while they stream (413, no file left, audited);
 * no body a browser sends cross-site without a preflight is taken; security headers on the page,
 * the API and the docs; refused authentications and forbidden requests counted, audited and, for
 * an account refused too often, blocked until unblocked; GET /v1/info tells brokers and topics
 * only to an authenticated caller.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { isImeiflowError } from '../../src/errors.js';
import { buildControlPlane } from '../../src/http/app.js';
import { PROBLEMS } from '../../src/http/problem.js';
import { reviewPage } from '../../src/http/review-page.js';
import { API_CSP, pageContentSecurityPolicy } from '../../src/http/security-headers.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { AccessRefusals, type Refusal, RefusalWindow } from '../../src/security/access-refusals.js';
import { type AuditEvent, AuditLog } from '../../src/security/audit-log.js';
import { applyTokenEvent, type TokenEvent, type TokenTable } from '../../src/security/token-events.js';
import { TokenService } from '../../src/security/tokens.js';
import type { TokenRecord } from '../../src/store/records.js';
import { openStore, type Store } from '../../src/store/store.js';
import { APPLE, imei, seedStore } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

const dataDir = join(tempDir(), 'data');
const UPLOAD_LIMIT = 4096;
const REFUSAL_LIMIT = 3;
const DEVICE = imei(APPLE, 42);
let store: Store;
let app: FastifyInstance;
let audit: AuditLog;
let tokens: TokenService;
let metrics: Metrics;

beforeAll(async () => {
  await seedStore(dataDir);
  store = openStore({ dataDir });
  const config = loadConfig({
    env: {
      IMEIFLOW_DATA_DIR: dataDir,
      IMEIFLOW_HTTP_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT),
      IMEIFLOW_REFUSAL_LIMIT: String(REFUSAL_LIMIT),
    },
  });
  tokens = new TokenService(store, 60);
  audit = new AuditLog(store, dataDir);
  metrics = new Metrics({ defaultMetrics: false });
  app = await buildControlPlane({
    config,
    log: createLogger('silent'),
    store,
    tokens,
    audit,
    metrics,
    info: {
      version: 'test',
      embeddedKafka: true,
      brokers: 'broker-1:9092',
      topics: { requests: 'imei.verify.requests' },
      partitions: 4,
      workers: 1,
    },
    notReadyReason: () => null,
    ownedPartitions: () => [0, 1],
  });
});

afterAll(async () => {
  await app?.close();
  await audit?.close();
  await store?.close();
});

const bearer = (token: string, headers: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  ...headers,
});

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  type: keyof typeof PROBLEMS,
): void {
  expect(response.statusCode).toBe(PROBLEMS[type].status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  expect(response.json()).toMatchObject({ type: `https://imeiflow.kz/problems/${type}` });
}

/** Audit entries written since `from` entries were there. */
const entriesSince = (from: number) => audit.query({ limit: 100_000 }).slice(from);
const auditCount = () => audit.query({ limit: 100_000 }).length;

async function counter(name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  const values = (await metric!.get()).values;
  return values
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

const uploads = () => readdirSync(join(dataDir, 'uploads'));

describe('settings', () => {
  it('defaults: 1 GiB uploads, 10 refusals within 10 minutes; variables override, bad values are named', () => {
    const defaults = loadConfig({ env: {} });
    expect(defaults.http.maxUploadBytes).toBe(1024 ** 3);
    expect(defaults.security).toMatchObject({ refusalLimit: 10, refusalWindowMs: 600_000 });
    const set = loadConfig({
      env: {
        IMEIFLOW_HTTP_MAX_UPLOAD_BYTES: '2048',
        IMEIFLOW_REFUSAL_LIMIT: '5',
        IMEIFLOW_REFUSAL_WINDOW_MS: '60000',
      },
    });
    expect(set.http.maxUploadBytes).toBe(2048);
    expect(set.security).toMatchObject({ refusalLimit: 5, refusalWindowMs: 60_000 });
    let message = '';
    try {
      loadConfig({ env: { IMEIFLOW_HTTP_MAX_UPLOAD_BYTES: '10', IMEIFLOW_REFUSAL_LIMIT: '0' } });
    } catch (error) {
      expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
      message = (error as Error).message;
    }
    expect(message).toContain('IMEIFLOW_HTTP_MAX_UPLOAD_BYTES');
    expect(message).toContain('IMEIFLOW_REFUSAL_LIMIT');
  });
});

describe('upload limits, enforced while the body streams', () => {
  let loader: string;
  beforeAll(async () => {
    loader = await tokens.create('upload.operator', 'operator');
  });

  const blocklistCsv = (rows: number) =>
    `imei,reason\n${Array.from({ length: rows }, (_, i) => `${imei(APPLE, 5000 + i)},stolen`).join('\n')}\n`;

  it('a file under the limit loads', async () => {
    const body = blocklistCsv(3);
    expect(body.length).toBeLessThan(UPLOAD_LIMIT);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/blocklist',
      headers: bearer(loader, { 'content-type': 'text/csv' }),
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ rowsLoaded: 3 });
  });

  it('a body without a length, streamed past the limit: 413 at the limit, nothing loaded, no file left, audited', async () => {
    const before = auditCount();
    const chunk = `${imei(APPLE, 7000)},stolen\n`.repeat(40); // ~1 KiB of good rows
    let pulled = 0;
    const total = 256;
    const body = Readable.from(
      (function* () {
        yield 'imei,reason\n';
        for (; pulled < total; pulled++) yield chunk;
      })(),
    );
    const response = await app.inject({
      method: 'POST',
      url: '/v1/blocklist',
      headers: bearer(loader, { 'content-type': 'text/csv', 'x-basis': 'letter 12' }),
      payload: body,
    });
    expectProblem(response, 'payload-too-large');
    expect(response.json()).toMatchObject({ limit: UPLOAD_LIMIT });
    // Nobody may keep sending: the rest of the body is not read.
    expect(response.headers['connection']).toBe('close');
    expect(pulled).toBeLessThan(64);
    expect(uploads()).toEqual([]);
    expect(store.blocklist.get(imei(APPLE, 7000).slice(0, 14))).toBeUndefined();
    const entries = entriesSince(before);
    expect(entries).toEqual([
      expect.objectContaining({
        actor: 'upload.operator',
        role: 'operator',
        action: 'load.blocklist.refused',
        basis: 'letter 12',
        target: expect.stringMatching(/^\d+ bytes received; over http\.maxUploadBytes 4096$/),
      }),
    ]);
  });

  it('a declared length over the limit is refused before anything is read', async () => {
    const before = auditCount();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/declarations',
      headers: bearer(await tokens.create('upload.kgd', 'kgd'), {
        'content-type': 'text/csv',
        'content-length': String(UPLOAD_LIMIT + 1),
      }),
      payload: 'x'.repeat(UPLOAD_LIMIT + 1),
    });
    expectProblem(response, 'payload-too-large');
    expect(uploads()).toEqual([]);
    expect(entriesSince(before)).toEqual([
      expect.objectContaining({
        actor: 'upload.kgd',
        action: 'load.declarations.refused',
        target: `${UPLOAD_LIMIT + 1} bytes declared; over http.maxUploadBytes 4096`,
      }),
    ]);
  });

  it('a JSON body sent to a load route is refused before it is parsed', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/tac',
      headers: bearer(loader, { 'content-type': 'application/json' }),
      // Far past the 1 MiB a JSON body may have: refused for its type, not read.
      payload: `{"x":"${'y'.repeat(2 * 1024 * 1024)}"}`,
    });
    expectProblem(response, 'unsupported-media-type');
  });
});

describe('no body a browser sends to another site without a preflight', () => {
  // What a hostile page's form or no-cors fetch sends from a client-certificate holder's browser.
  const crossSite = {
    origin: 'https://evil.example',
    'sec-fetch-site': 'cross-site',
    'sec-fetch-mode': 'no-cors',
  };
  const row = `imei,reason\n${imei(APPLE, 8000)},planted\n`;

  it('text/plain and the form encodings are 415 on every load route, and nothing is loaded', async () => {
    const admin = await tokens.create('cross.admin', 'admin');
    const before = auditCount();
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      for (const url of ['/v1/blocklist', '/v1/tac', '/v1/declarations']) {
        const response = await app.inject({
          method: 'POST',
          url,
          headers: bearer(admin, { ...crossSite, 'content-type': type }),
          payload: row,
        });
        expectProblem(response, 'unsupported-media-type');
      }
    }
    expect(store.blocklist.get(imei(APPLE, 8000).slice(0, 14))).toBeUndefined();
    // Refused for what it is, before anyone is authenticated: nothing to audit.
    expect(entriesSince(before)).toEqual([]);
  });

  it('the JSON routes take no text/plain, and no file types either', async () => {
    const operator = await tokens.create('cross.operator', 'operator');
    const payload = JSON.stringify({ requestId: 'x-1', imei: DEVICE, operator: 'kcell', channel: 'import' });
    const xlsx = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    for (const type of ['text/plain', 'text/csv', 'application/octet-stream', xlsx]) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/verify',
        headers: bearer(operator, { ...crossSite, 'content-type': type }),
        payload,
      });
      // Not a stream's internals named in a 400 (the load routes' parser reached every route).
      expectProblem(response, 'unsupported-media-type');
      expect(response.body, type).not.toContain('_readableState');
    }
  });

  it('a load without a content type is refused too (a Blob without a type is a simple request)', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/blocklist',
      headers: bearer(await tokens.create('cross.untyped', 'operator')),
      payload: Buffer.from(row),
    });
    expectProblem(response, 'unsupported-media-type');
  });
});

describe('security headers', () => {
  const inlineHashes = (html: string, tag: 'script' | 'style') =>
    [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map(
      (m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`,
    );

  it("the review page: a CSP with its inline script and style by hash, no 'unsafe-inline', framed by nobody, not stored", async () => {
    for (const language of ['ru', 'kk', 'en'] as const) {
      const response = await app.inject({ url: `/review?lang=${language}` });
      const csp = String(response.headers['content-security-policy']);
      const html = reviewPage(language);
      expect(response.body).toBe(html);
      const scripts = inlineHashes(html, 'script');
      const styles = inlineHashes(html, 'style');
      expect(scripts.length).toBeGreaterThan(0);
      expect(styles.length).toBeGreaterThan(0);
      expect(csp).toContain(`script-src ${scripts.join(' ')};`);
      expect(csp).toContain(`style-src ${styles.join(' ')};`);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe');
      expect(response.headers).toMatchObject({
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
    }
  });

  it('the policy hashes each inline element and admits nothing else', () => {
    const html =
      '<style>b{}</style><script>a()</script><script src="/x.js"></script><script type="module">m()</script>';
    const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const csp = pageContentSecurityPolicy(html);
    expect(csp).toContain(`script-src ${sha('a()')} ${sha('m()')};`);
    expect(csp).toContain(`style-src ${sha('b{}')};`);
    expect(pageContentSecurityPolicy('<p>no script</p>')).toContain("script-src 'none'");
  });

  it('API answers, problems and unknown routes: nothing runs, nothing frames, nothing is stored', async () => {
    const sre = await tokens.create('headers.sre', 'sre');
    for (const response of [
      await app.inject({ url: `/v1/devices/${DEVICE}`, headers: bearer(sre) }),
      await app.inject({ url: `/v1/devices/${DEVICE}` }),
      await app.inject({ url: '/v1/nothing-here' }),
      await app.inject({ url: '/readyz' }),
    ]) {
      expect(response.headers).toMatchObject({
        'content-security-policy': API_CSP,
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
    }
  });

  it("the docs keep Swagger UI's own policy, framed by nobody", async () => {
    const response = await app.inject({ url: '/docs/static/swagger-ui.css' });
    expect(response.statusCode).toBe(200);
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("frame-ancestors 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
    // Inline styles (Swagger UI sets them at run time), never inline scripts.
    expect(/script-src ([^;]*);/.exec(csp)?.[1]).toMatch(/^'self'/);
    expect(/script-src ([^;]*);/.exec(csp)?.[1]).not.toContain('unsafe');
    expect(response.headers['x-frame-options']).toBe('DENY');
  });
});

describe('refused requests: counted, audited, and an account refused too often is blocked', () => {
  it('an unknown token is held against the client address: audited, counted, nothing blocked', async () => {
    const before = auditCount();
    const unknown = await counter('imeiflow_access_refusals_total', { reason: 'unknown' });
    const response = await app.inject({
      url: `/v1/devices/${DEVICE}`,
      headers: { authorization: 'Bearer ifl_guessed' },
      remoteAddress: '10.9.8.1',
    });
    expectProblem(response, 'unauthorized');
    expect(await counter('imeiflow_access_refusals_total', { reason: 'unknown' })).toBe(unknown + 1);
    expect(entriesSince(before)).toEqual([
      expect.objectContaining({
        actor: 'address:10.9.8.1',
        role: 'none',
        action: 'access.refused',
        target: expect.stringContaining('GET /v1/devices/:imei from 10.9.8.1 (unknown:'),
      }),
    ]);
  });

  it('past the limit an address is still counted but no longer audited, so a flood cannot fill the trail', async () => {
    const before = auditCount();
    const missing = await counter('imeiflow_access_refusals_total', { reason: 'missing' });
    for (let i = 0; i < REFUSAL_LIMIT + 4; i++) {
      expectProblem(await app.inject({ url: '/v1/reviews', remoteAddress: '10.9.8.2' }), 'unauthorized');
    }
    expect(await counter('imeiflow_access_refusals_total', { reason: 'missing' })).toBe(
      missing + REFUSAL_LIMIT + 4,
    );
    const entries = entriesSince(before);
    expect(entries).toHaveLength(REFUSAL_LIMIT);
    expect(entries.every((e) => e.actor === 'address:10.9.8.2')).toBe(true);
    expect(entries.at(-1)!.target).toContain('further refusals of this address within 10 min are counted');
    // Another address has its own allowance.
    await app.inject({ url: '/v1/reviews', remoteAddress: '10.9.8.3' });
    expect(entriesSince(before).at(-1)).toMatchObject({ actor: 'address:10.9.8.3' });
  });

  it(`an account refused ${REFUSAL_LIMIT} times for what its role does not allow is blocked until an admin unblocks it`, async () => {
    const token = await tokens.create('curious.sre', 'sre');
    const before = auditCount();
    const blockedBefore = await counter('imeiflow_accounts_blocked_total');
    // Allowed: the device without personal data.
    expect((await app.inject({ url: `/v1/devices/${DEVICE}`, headers: bearer(token) })).statusCode).toBe(200);
    for (const request of [
      { url: '/v1/audit' },
      { url: '/v1/reviews' },
      // Personal data is refused by the route itself, after authentication: the same count.
      { url: `/v1/devices/${DEVICE}?include=personal`, headers: { 'x-basis': 'curiosity' } },
    ]) {
      expectProblem(
        await app.inject({ ...request, headers: bearer(token, request.headers ?? {}) }),
        'forbidden',
      );
    }
    // Blocked at once, for what its role does allow too.
    await store.tokens.committed;
    const blocked = await app.inject({ url: `/v1/devices/${DEVICE}`, headers: bearer(token) });
    expectProblem(blocked, 'account-blocked');
    expect(await counter('imeiflow_accounts_blocked_total')).toBe(blockedBefore + 1);
    expect(tokens.list().find((t) => t.name === 'curious.sre')).toMatchObject({ blockedFor: 'refusals' });
    expect(entriesSince(before).map((e) => `${e.actor} ${e.action}`)).toEqual([
      'curious.sre access.forbidden',
      'curious.sre access.forbidden',
      'curious.sre access.forbidden',
      'imeiflow token.block',
    ]);
    expect(entriesSince(before)[3]).toMatchObject({
      role: 'system',
      target: 'curious.sre',
      basis: `${REFUSAL_LIMIT} refused requests within 10 min (seed 001 §19)`,
    });
    // The account's audit allowance is spent: its refusals while blocked are counted only.
    expect(entriesSince(before)[2]!.target).toBe(
      'GET /v1/devices/:imei from 127.0.0.1 (forbidden: role sre may not read personal data); further refusals of this account within 10 min are counted, not audited',
    );
    expect(await counter('imeiflow_access_refusals_total', { reason: 'blocked' })).toBe(1);

    // The admin's decision lifts it; the count starts afresh.
    expect(await tokens.unblock('curious.sre')).toBe('unblocked');
    await store.tokens.committed;
    expect((await app.inject({ url: `/v1/devices/${DEVICE}`, headers: bearer(token) })).statusCode).toBe(200);
    expectProblem(await app.inject({ url: '/v1/audit', headers: bearer(token) }), 'forbidden');
    await store.tokens.committed;
    expect((await app.inject({ url: `/v1/devices/${DEVICE}`, headers: bearer(token) })).statusCode).toBe(200);
  });

  it('refusals of a revoked or idle-blocked token are audited under the account, and block nothing more', async () => {
    const revoked = await tokens.create('gone.admin', 'admin');
    await tokens.revoke('gone.admin');
    const idle = await tokens.create('idle.reviewer', 'reviewer', new Date(Date.now() - 61 * 86_400_000));
    const before = auditCount();
    const blockedBefore = await counter('imeiflow_accounts_blocked_total');
    for (let i = 0; i < REFUSAL_LIMIT; i++) {
      expectProblem(await app.inject({ url: '/v1/audit', headers: bearer(revoked) }), 'token-revoked');
      expectProblem(await app.inject({ url: '/v1/reviews', headers: bearer(idle) }), 'token-expired');
    }
    expect(await counter('imeiflow_accounts_blocked_total')).toBe(blockedBefore);
    const entries = entriesSince(before);
    expect(entries.filter((e) => e.actor === 'gone.admin' && e.action === 'access.refused')).toHaveLength(
      REFUSAL_LIMIT,
    );
    expect(entries.filter((e) => e.actor === 'idle.reviewer' && e.role === 'reviewer')).toHaveLength(
      REFUSAL_LIMIT,
    );
    // An inactivity block is not lifted by unblock (seed 001 §14): the account gets a new token.
    await store.tokens.committed;
    expect(await tokens.unblock('idle.reviewer')).toBe('idle');
    expect(await tokens.unblock('gone.admin')).toBe('revoked');
    expect(await tokens.unblock('nobody')).toBe('unknown');
  });

  it('counts refusals within the window only, and blocks once per crossing', async () => {
    const blocks: string[] = [];
    const audited: AuditEvent[] = [];
    const counted: string[] = [];
    const refusals = new AccessRefusals({
      block: async (name) => {
        blocks.push(name);
        return true;
      },
      audit: async (event) => void audited.push(event),
      counters: { refused: (reason) => void counted.push(reason), accountBlocked: () => undefined },
      log: createLogger('silent'),
      limit: 3,
      windowMs: 60_000,
    });
    const forbidden: Refusal = {
      reason: 'forbidden',
      account: { name: 'a', role: 'sre', by: 'token' },
      address: '10.0.0.1',
      request: 'GET /v1/audit',
      detail: 'role sre may not readAudit',
    };
    const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
    // Two, then a minute's pause: the first ones fall out of the window.
    await refusals.record(forbidden, at(0));
    await refusals.record(forbidden, at(10));
    await refusals.record(forbidden, at(70));
    await refusals.record(forbidden, at(75));
    expect(blocks).toEqual([]);
    await refusals.record(forbidden, at(80));
    expect(blocks).toEqual(['a']);
    // A certificate holder is counted and audited, not blocked here (a CA revokes certificates).
    for (let i = 0; i < 5; i++)
      await refusals.record({ ...forbidden, account: { name: 'p', role: 'sre', by: 'certificate' } }, at(90));
    expect(blocks).toEqual(['a']);
    expect(counted).toHaveLength(10);
    expect(audited.filter((e) => e.action === 'token.block')).toEqual([
      expect.objectContaining({ target: 'a', basis: '3 refused requests within 1 min (seed 001 §19)' }),
    ]);
  });

  it('the window keeps bounded memory whatever the number of addresses', () => {
    const window = new RefusalWindow(3, 60_000, 100);
    for (let i = 0; i < 10_000; i++) window.note(`address:${i}`, i);
    expect(window.size).toBe(100);
    expect(window.note('address:9999', 10_000)).toBe(2);
    expect(window.note('address:0', 10_000)).toBe(1);
  });
});

describe('token events: the block for refusals and its lifting', () => {
  const table = (): TokenTable & { records: Map<string, TokenRecord> } => {
    const records = new Map<string, TokenRecord>();
    return {
      records,
      get: (name) => records.get(name),
      put: (record) => void records.set(record.name, record),
      dropHash: () => undefined,
    };
  };
  const create: TokenEvent = {
    type: 'create',
    name: 'a',
    role: 'sre',
    hash: 'a'.repeat(64),
    at: '2026-01-01T00:00:00.000Z',
  };
  const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;

  it('unblock lifts a block for refusals, not one for inactivity nor one from an event that names no reason', () => {
    for (const [block, lifted] of [
      [{ type: 'block', name: 'a', at: at(1), reason: 'refusals' }, true],
      [{ type: 'block', name: 'a', at: at(1), reason: 'idle' }, false],
      [{ type: 'block', name: 'a', at: at(1) }, false],
    ] as const) {
      const t = table();
      applyTokenEvent(t, create);
      applyTokenEvent(t, block);
      applyTokenEvent(t, { type: 'unblock', name: 'a', at: at(2) });
      expect(t.get('a')!.blockedAt === null, JSON.stringify(block)).toBe(lifted);
      // An active account has the shape of the shared structure again (no `blockedFor` key).
      if (lifted) expect(Object.keys(t.get('a')!)).not.toContain('blockedFor');
    }
  });

  it('after compaction (the latest block/ and unblock/ of the account, in order) the state is the same', () => {
    const events: TokenEvent[] = [
      create,
      { type: 'block', name: 'a', at: at(1), reason: 'refusals' },
      { type: 'unblock', name: 'a', at: at(2) },
      { type: 'block', name: 'a', at: at(3), reason: 'refusals' },
    ];
    const whole = table();
    for (const e of events) applyTokenEvent(whole, e);
    const compacted = table();
    for (const e of [events[0]!, events[2]!, events[3]!]) applyTokenEvent(compacted, e);
    expect(compacted.get('a')).toEqual(whole.get('a'));
    expect(whole.get('a')).toMatchObject({ blockedAt: at(3), blockedFor: 'refusals' });
  });
});

describe('GET /v1/info', () => {
  it('anonymous: version and readiness only', async () => {
    const response = await app.inject({ url: '/v1/info' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ version: 'test', ready: true, partitionsOwned: [0, 1] });
    expect(response.body).not.toContain('broker-1');
    expect(response.body).not.toContain('imei.verify.requests');
  });

  it('any role: brokers, topics and the KGD export too', async () => {
    const operator = await tokens.create('info.operator', 'operator');
    const response = await app.inject({ url: '/v1/info', headers: bearer(operator) });
    expect(response.json()).toMatchObject({
      version: 'test',
      ready: true,
      embeddedKafka: true,
      brokers: 'broker-1:9092',
      topics: { requests: 'imei.verify.requests' },
      kgdExport: { lastMonth: null },
    });
  });

  it('a credential that is sent must be valid: a bad one is refused and audited, not read as anonymous', async () => {
    const before = auditCount();
    const response = await app.inject({
      url: '/v1/info',
      headers: { authorization: 'Bearer ifl_wrong' },
      remoteAddress: '10.9.8.9',
    });
    expectProblem(response, 'unauthorized');
    expect(response.body).not.toContain('broker-1');
    expect(entriesSince(before)).toEqual([
      expect.objectContaining({ actor: 'address:10.9.8.9', action: 'access.refused' }),
    ]);
  });
});

describe('imeiflow token unblock (no cluster: the data directory’s store)', () => {
  const cliDir = join(tempDir(), 'cli-data');
  const imeiflow = (...args: string[]) => {
    const run = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin/imeiflow.js'), 'token', ...args], {
      encoding: 'utf8',
      env: { ...process.env, IMEIFLOW_DATA_DIR: cliDir },
    });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  it('lifts a block for refused requests, says why it cannot otherwise, and is audited', async () => {
    expect(imeiflow('create', '--name', 'cli.sre', '--role', 'sre').code).toBe(0);
    expect(imeiflow('create', '--name', 'cli.idle', '--role', 'sre').code).toBe(0);
    const cliStore = openStore({ dataDir: cliDir });
    try {
      const service = new TokenService(cliStore, 60);
      expect(await service.block('cli.sre')).toBe(true);
      expect(await service.block('cli.sre')).toBe(false);
      await cliStore.env.transaction(() =>
        applyTokenEvent(
          {
            get: (name) => cliStore.tokens.get(name),
            put: (record) => void cliStore.tokens.put(record.name, record),
            dropHash: () => undefined,
          },
          { type: 'block', name: 'cli.idle', at: new Date().toISOString(), reason: 'idle' },
        ),
      );
    } finally {
      await cliStore.close();
    }
    expect(imeiflow('list').stdout).toMatch(/cli\.sre\tsre\tblocked \(refused requests\)/);
    const unblocked = imeiflow('unblock', 'cli.sre');
    expect(unblocked.code, unblocked.stderr).toBe(0);
    expect(unblocked.stdout).toBe('unblocked cli.sre\n');
    expect(imeiflow('list').stdout).toMatch(/cli\.sre\tsre\tactive/);
    expect(imeiflow('unblock', 'cli.sre')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('cli.sre is not blocked'),
    });
    expect(imeiflow('unblock', 'cli.idle')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('blocked after 60 days without use, which stays'),
    });
    expect(imeiflow('unblock', 'nobody')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no token named nobody'),
    });
    const trail = openStore({ dataDir: cliDir });
    try {
      const actions = [...trail.audit.getRange()].map(({ value }) => `${value.action} ${value.target}`);
      expect(actions.filter((a) => a.startsWith('token.unblock'))).toEqual(['token.unblock cli.sre']);
    } finally {
      await trail.close();
    }
  });
});
