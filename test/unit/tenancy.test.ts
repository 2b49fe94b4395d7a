/**
 * Operators are tenants on the control plane (issue 22, point 1), through Fastify's inject over a
 * real LMDB store:
 *
 * - a token (`imeiflow token create --role operator --operator kcell`) or a client certificate
 *   (`operator` in `http.tls.clientCertificates`) of role `operator` names its operator code;
 * - an operator sees only its own waiting requests (GET /v1/devices/:imei), and reads a
 *   registration's owner and phone for a device it registered (the registry records the operator
 *   whose request registered it), or for another's registration only while it asks about the
 *   device in a waiting request of its own (the owner conflict it must resolve); a registration
 *   recorded before imeiflow kept its operator is read only that second way;
 * - an operator account that names no operator (a token created before operators were tenants)
 *   reads no personal data: `operator-unbound` (403), audited and counted, not held against the
 *   account as a role violation.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { RegistryEntry } from '../../src/domain/types.js';
import { isImeiflowError } from '../../src/errors.js';
import { buildControlPlane } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { AuditLog } from '../../src/security/audit-log.js';
import { applyTokenEvent, lmdbTokenTable } from '../../src/security/token-events.js';
import { newToken, TokenService } from '../../src/security/tokens.js';
import type { PendingEntry } from '../../src/store/records.js';
import { openStore, type Store } from '../../src/store/store.js';
import { APPLE, imei, seedStore } from '../support/fixtures.js';
import { putSealed } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const dataDir = join(tempDir(), 'data');
const REFUSAL_LIMIT = 3;
/** Registered by beeline; nobody waits for it. */
const REGISTERED = imei(APPLE, 42);
/** Registered by beeline; kcell now asks about it for another owner (owner conflict, in review). */
const CONFLICT = imei(APPLE, 43);
/** Registered before imeiflow recorded the registering operator; nobody waits for it. */
const UNRECORDED = imei(APPLE, 44);
/** Not registered; kcell and beeline each wait for KGD about it. */
const SHARED = imei(APPLE, 50);
/** Not registered; only beeline waits, in review. */
const BEELINE_ONLY = imei(APPLE, 51);
const OWNER = {
  registered: '880101300123',
  conflict: '990340005977',
  kcell: '870412300416',
  beeline: '910205400123',
  claimant: '851102400337',
};
const PHONE = {
  registered: '+77011234567',
  conflict: '+77017654321',
  kcell: '+77470000001',
  beeline: '+77050000002',
  claimant: '+77470000003',
};

let store: Store;
let app: FastifyInstance;
let audit: AuditLog;
let tokens: TokenService;
let metrics: Metrics;
const token: Record<'kcell' | 'beeline' | 'legacy' | 'reviewer', string> = {} as never;

const body = (device: string) => device.slice(0, 14);

function registration(
  device: string,
  requestId: string,
  ownerId: string,
  msisdn: string,
  operator: string | null = 'beeline',
): RegistryEntry {
  return {
    requestId,
    partition: 1,
    imei: device,
    ownerId,
    msisdn,
    evidence: 'kgd-release',
    operator,
    applicationId: 'KZ-2025-000042',
    procedure: '40',
    at: '2026-11-20T10:00:00.000Z',
  };
}

function waiting(
  device: string,
  requestId: string,
  operator: string,
  ownerId: string,
  msisdn: string,
  stage: PendingEntry['stage'] = 'awaiting_kgd',
): PendingEntry {
  return {
    request: { requestId, imei: device, operator, channel: 'import', ownerId, msisdn },
    partition: 1,
    source: `1/${requestId}`,
    stage,
    reason: stage === 'review' ? 'owner_conflict' : 'awaiting_kgd',
    detail: 'waiting',
    since: '2026-11-20T10:00:00.000Z',
    deadline: stage === 'review' ? null : '2026-11-21T04:00:00.000Z',
  };
}

beforeAll(async () => {
  await seedStore(dataDir);
  store = openStore({ dataDir });
  const loaded = loadConfig({
    env: { IMEIFLOW_DATA_DIR: dataDir, IMEIFLOW_REFUSAL_LIMIT: String(REFUSAL_LIMIT) },
  });
  // A certificate holder of kcell, without the client CA that asking for certificates over TLS
  // needs (the configuration insists on one): the test hook below stands in for the socket.
  const config = {
    ...loaded,
    http: {
      ...loaded.http,
      tls: {
        ...loaded.http.tls,
        clientCertificates: [
          { iin: '950306400710', name: 'd.kasymov', role: 'operator' as const, operator: 'kcell' },
        ],
      },
    },
  };
  tokens = new TokenService(store, 60);
  audit = new AuditLog(store, dataDir);
  metrics = new Metrics({ defaultMetrics: false });
  token.kcell = await tokens.create('kcell.app', 'operator', { operator: 'kcell' });
  token.beeline = await tokens.create('beeline.app', 'operator', { operator: 'beeline' });
  // A token whose `create` event was written before operators were tenants: no operator code.
  const legacy = newToken('old.operator', 'operator');
  await store.env.transaction(() => applyTokenEvent(lmdbTokenTable(store), legacy.event));
  token.legacy = legacy.token;
  token.reviewer = await tokens.create('a.nurlanova', 'reviewer');

  // As the service stores them: owners and phones sealed under the store's subject keys.
  await putSealed(store, (put) => {
    put.registry(body(REGISTERED), registration(REGISTERED, 'beeline-1', OWNER.registered, PHONE.registered));
    put.registry(body(CONFLICT), registration(CONFLICT, 'beeline-2', OWNER.conflict, PHONE.conflict));
    put.registry(
      body(UNRECORDED),
      registration(UNRECORDED, 'beeline-0', OWNER.registered, PHONE.registered, null),
    );
    put.reviews(body(CONFLICT), [
      waiting(CONFLICT, 'kcell-9', 'kcell', OWNER.claimant, PHONE.claimant, 'review'),
    ]);
    put.reviews(body(SHARED), [
      waiting(SHARED, 'kcell-3', 'kcell', OWNER.kcell, PHONE.kcell),
      waiting(SHARED, 'beeline-7', 'beeline', OWNER.beeline, PHONE.beeline),
    ]);
    put.reviews(body(BEELINE_ONLY), [
      waiting(BEELINE_ONLY, 'beeline-8', 'beeline', OWNER.beeline, PHONE.beeline, 'review'),
    ]);
  });

  app = await buildControlPlane({
    config,
    log: createLogger('silent'),
    store,
    tokens,
    audit,
    metrics,
    info: { version: 'test', embeddedKafka: true, brokers: 'none', topics: {}, partitions: 4, workers: 1 },
    notReadyReason: () => null,
    ownedPartitions: () => [0, 1, 2, 3],
  });
  app.addHook('onRequest', async (request) => {
    if (request.headers['x-test-certificate'] === 'kcell')
      request.peer = {
        kind: 'person',
        iin: '950306400710',
        name: 'd.kasymov',
        role: 'operator',
        operator: 'kcell',
      };
  });
});

afterAll(async () => {
  await app?.close();
  await audit?.close();
  await store?.close();
});

interface DeviceAnswer {
  status: string;
  registry: {
    requestId?: string;
    operator?: string | null;
    ownerId?: string;
    msisdn?: string;
    ownerWithheld?: string;
  } | null;
  pending: { requestId: string; operator: string; ownerId?: string | null }[];
  personalData: boolean;
}

async function device(who: keyof typeof token, device: string, basis?: string) {
  const response = await app.inject({
    url: `/v1/devices/${device}`,
    headers: {
      authorization: `Bearer ${token[who]}`,
      ...(basis === undefined ? {} : { 'x-basis': basis }),
    },
  });
  return { status: response.statusCode, text: response.body, json: response.json() as DeviceAnswer };
}

const auditSince = (from: number) => audit.query({ limit: 100_000 }).slice(from);
const auditCount = () => audit.query({ limit: 100_000 }).length;

describe('accounts name their operator', () => {
  it('a token of role operator carries its operator code in its create event and when it authenticates', () => {
    const made = newToken('tele2.app', 'operator', new Date(), 'tele2');
    expect(made.event).toMatchObject({ type: 'create', role: 'operator', operator: 'tele2' });
    expect(tokens.authenticate(`Bearer ${token.kcell}`)).toMatchObject({
      ok: true,
      role: 'operator',
      operator: 'kcell',
    });
    expect(tokens.authenticate(`Bearer ${token.reviewer}`)).toMatchObject({ ok: true, operator: null });
    expect(tokens.authenticate(`Bearer ${token.legacy}`)).toMatchObject({
      ok: true,
      role: 'operator',
      operator: null,
    });
    expect(() => newToken('x', 'reviewer', new Date(), 'kcell')).toThrow(/only an operator/);
    expect(() => newToken('x', 'operator', new Date(), 'no spaces')).toThrow(/operator code/);
  });

  it('a client certificate mapping names the operator of an operator, and only of an operator', () => {
    const entry = { iin: '950306400710', name: 'd.kasymov', role: 'operator', operator: 'kcell' };
    const tls = (clientCertificates: Record<string, string>[]) => ({
      env: {
        IMEIFLOW_HTTP_TLS_CERT_FILE: '/dev/null',
        IMEIFLOW_HTTP_TLS_KEY_FILE: '/dev/null',
        IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE: '/dev/null',
      },
      overrides: { http: { tls: { clientCertificates } } },
    });
    expect(loadConfig(tls([entry])).http.tls.clientCertificates[0]).toMatchObject({ operator: 'kcell' });
    for (const bad of [
      { ...entry, role: 'reviewer' },
      { ...entry, operator: 'no spaces' },
    ]) {
      let message = '';
      try {
        loadConfig(tls([bad]));
      } catch (error) {
        expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
        message = (error as Error).message;
      }
      expect(message, JSON.stringify(bad)).toContain('http.tls.clientCertificates.0.operator');
    }
  });
});

describe('GET /v1/devices/:imei per operator', () => {
  it('an operator sees only its own waiting requests, with their owners', async () => {
    const kcell = await device('kcell', SHARED, 'ticket 1');
    expect(kcell.json.pending.map((p) => p.requestId)).toEqual(['kcell-3']);
    expect(kcell.json.pending[0]).toMatchObject({ operator: 'kcell', ownerId: OWNER.kcell });
    expect(kcell.text).not.toContain('beeline-7');
    expect(kcell.text).not.toContain(OWNER.beeline);
    expect(kcell.text).not.toContain(PHONE.beeline);
    const beeline = await device('beeline', SHARED, 'ticket 2');
    expect(beeline.json.pending.map((p) => p.requestId)).toEqual(['beeline-7']);
    expect(beeline.text).not.toContain(OWNER.kcell);
    // Not a tenant: a reviewer sees every operator's.
    const reviewer = await device('reviewer', SHARED, 'case 3');
    expect(reviewer.json.pending.map((p) => p.requestId).sort()).toEqual(['beeline-7', 'kcell-3']);
  });

  it("another operator's waiting request is not even a status", async () => {
    const kcell = await device('kcell', BEELINE_ONLY);
    expect(kcell.json).toMatchObject({ status: 'not_registered', pending: [] });
    expect(kcell.text).not.toContain('beeline-8');
    expect((await device('beeline', BEELINE_ONLY)).json).toMatchObject({ status: 'review' });
  });

  it("a registration's owner and phone are read by the operator that registered the device, withheld from another with no waiting request for it; the reads are audited", async () => {
    const before = auditCount();
    const beeline = await device('beeline', REGISTERED, 'ticket 4');
    expect(beeline.status).toBe(200);
    expect(beeline.json.status).toBe('registered');
    expect(beeline.json.registry).toMatchObject({
      requestId: 'beeline-1',
      operator: 'beeline',
      ownerId: OWNER.registered,
      msisdn: PHONE.registered,
    });
    const kcell = await device('kcell', REGISTERED, 'ticket 4');
    expect(kcell.status).toBe(200);
    expect(kcell.json.status).toBe('registered');
    expect(kcell.json.registry).toMatchObject({ ownerWithheld: expect.stringContaining('it registered') });
    // Neither who owns it, nor the request that registered it, nor by whom (another tenant's).
    for (const secret of [OWNER.registered, PHONE.registered, 'beeline-1', 'beeline'])
      expect(kcell.text).not.toContain(secret);
    expect(auditSince(before)).toEqual([
      expect.objectContaining({
        actor: 'beeline.app',
        action: 'device.read-personal',
        basis: 'ticket 4',
        target: REGISTERED,
      }),
      expect.objectContaining({
        actor: 'kcell.app',
        action: 'device.read-personal',
        basis: 'ticket 4',
        target: REGISTERED,
      }),
    ]);
    // A reviewer reads it whole.
    expect((await device('reviewer', REGISTERED, 'case 5')).json.registry).toMatchObject({
      requestId: 'beeline-1',
      operator: 'beeline',
      ownerId: OWNER.registered,
      msisdn: PHONE.registered,
    });
  });

  it('a registration recorded before imeiflow kept its operator is withheld from every operator without a waiting request', async () => {
    for (const who of ['kcell', 'beeline'] as const) {
      const answer = await device(who, UNRECORDED, 'ticket 5');
      expect(answer.json.status).toBe('registered');
      expect(answer.json.registry).toMatchObject({ ownerWithheld: expect.any(String) });
      for (const secret of [OWNER.registered, PHONE.registered, 'beeline-0'])
        expect(answer.text, who).not.toContain(secret);
    }
    expect((await device('reviewer', UNRECORDED, 'case 5')).json.registry).toMatchObject({
      requestId: 'beeline-0',
      operator: null,
      ownerId: OWNER.registered,
    });
  });

  it('an operator asking about a registered device in its own waiting request reads the registration in conflict', async () => {
    const kcell = await device('kcell', CONFLICT, 'ticket 6');
    expect(kcell.json.registry).toMatchObject({
      requestId: 'beeline-2',
      ownerId: OWNER.conflict,
      msisdn: PHONE.conflict,
    });
    expect(kcell.json.pending).toEqual([
      expect.objectContaining({ requestId: 'kcell-9', ownerId: OWNER.claimant }),
    ]);
    // Without a basis: no personal data, but the registration's request is its business.
    const plain = await device('kcell', CONFLICT);
    expect(plain.json.registry).toMatchObject({ requestId: 'beeline-2' });
    expect(plain.text).not.toContain(OWNER.conflict);
    // beeline registered it and has no waiting request for it: its own registration, but not
    // kcell's claim.
    const beeline = await device('beeline', CONFLICT, 'ticket 7');
    expect(beeline.json).toMatchObject({ status: 'registered', pending: [] });
    expect(beeline.json.registry).toMatchObject({ requestId: 'beeline-2', ownerId: OWNER.conflict });
    for (const secret of [OWNER.claimant, PHONE.claimant, 'kcell-9'])
      expect(beeline.text).not.toContain(secret);
  });

  it('a reviewer deciding the owner conflict sees which operator registered the device', async () => {
    const response = await app.inject({
      url: '/v1/reviews/kcell-9',
      headers: { authorization: `Bearer ${token.reviewer}`, 'x-basis': 'case 10' },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      requestId: 'kcell-9',
      conflict: { requestId: 'beeline-2', operator: 'beeline', ownerId: OWNER.conflict },
    });
  });

  it("a certificate holder's operator decides like a token's", async () => {
    const response = await app.inject({
      url: `/v1/devices/${SHARED}`,
      headers: { 'x-test-certificate': 'kcell', 'x-basis': 'ticket 8' },
    });
    expect((response.json() as DeviceAnswer).pending.map((p) => p.requestId)).toEqual(['kcell-3']);
    expect(response.body).not.toContain(OWNER.beeline);
  });
});

describe('an operator account that names no operator', () => {
  it('reads no personal data: operator-unbound, audited and counted, never blocking the account', async () => {
    const before = auditCount();
    for (let i = 0; i <= REFUSAL_LIMIT; i++) {
      const refused = await device('legacy', SHARED, 'ticket 9');
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ type: 'https://imeiflow.kz/problems/operator-unbound' });
      expect(refused.text).toContain('--operator');
    }
    expect(auditSince(before)[0]).toMatchObject({
      actor: 'old.operator',
      role: 'operator',
      action: 'access.refused',
    });
    const counted = (
      await metrics.registry.getSingleMetric('imeiflow_access_refusals_total')!.get()
    ).values.find((v) => v.labels['reason'] === 'unbound');
    expect(counted?.value).toBe(REFUSAL_LIMIT + 1);
    // Not blocked; what needs no tenancy still works, and it sees nobody's waiting requests.
    const plain = await device('legacy', SHARED);
    expect(plain.status).toBe(200);
    expect(plain.json).toMatchObject({ status: 'not_registered', pending: [] });
    expect((await device('legacy', REGISTERED)).json.registry).not.toHaveProperty('requestId');
  });
});

describe('imeiflow token create --operator', () => {
  const cliDir = join(tempDir(), 'cli-data');
  const imeiflow = (...args: string[]) => {
    const run = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin/imeiflow.js'), 'token', ...args], {
      encoding: 'utf8',
      env: { ...process.env, IMEIFLOW_DATA_DIR: cliDir, IMEIFLOW_LOG_LEVEL: 'warn' },
    });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  it('an operator token needs its operator code, and only an operator token takes one', () => {
    const missing = imeiflow('create', '--name', 'k.app', '--role', 'operator');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--operator');
    expect(imeiflow('create', '--name', 'r.app', '--role', 'reviewer', '--operator', 'kcell').code).toBe(2);
    expect(imeiflow('create', '--name', 'k.app', '--role', 'operator', '--operator', 'bad code').code).toBe(
      2,
    );
    const made = imeiflow('create', '--name', 'k.app', '--role', 'operator', '--operator', 'kcell');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/^ifl_/);
    expect(imeiflow('list').stdout).toMatch(/^k\.app\toperator \(kcell\)\tactive\t/m);
  });
});
