/**
 * Certificate holders get the token rules (issue 22, point 6), through Fastify's inject over a
 * real LMDB store. A test hook stands in for the TLS socket: it sets the request's peer as
 * src/http/tls.ts does for a verified certificate naming a configured IIN.
 *
 * - Use is recorded cluster-wide, as tokens' `use` events are: a `cert-use` event on the tokens
 *   topic (here a publisher that applies what it is given, as every instance's tokens table does),
 *   at most once a minute per holder.
 * - A holder idle for `security.tokenIdleDays` (60) is refused `certificate-expired` and blocked
 *   for good, on every instance (`cert-block`); an admin reinstates them.
 * - `cert-revoke` (`imeiflow cert revoke IIN`) refuses the holder at once, a keep-alive connection
 *   included, audited under the holder's name; `cert-reinstate` lets them in again. Compaction
 *   (the latest event of each type per holder, in order) leaves the same state.
 * - The command line on a data directory without a cluster: revoke, list, reinstate, audited.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildControlPlane } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { AuditLog } from '../../src/security/audit-log.js';
import {
  applyTokenEvent,
  lmdbTokenTable,
  type TokenEvent,
  tokenEventKey,
  tokenEventSchema,
} from '../../src/security/token-events.js';
import { TokenService } from '../../src/security/tokens.js';
import type { CertificateRecord } from '../../src/store/records.js';
import { openStore, type Store } from '../../src/store/store.js';
import { APPLE, imei, seedStore } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

const dataDir = join(tempDir(), 'data');
const DEVICE = imei(APPLE, 42);
const DAY_MS = 86_400_000;
/** Holders configured in http.tls.clientCertificates. */
const PEOPLE = {
  reviewer: { iin: '880101300123', name: 'a.nurlanova', role: 'reviewer' },
  idle: { iin: '990340005977', name: 'b.idle', role: 'reviewer' },
  leaver: { iin: '870412300416', name: 'c.leaver', role: 'admin' },
} as const;
type Person = keyof typeof PEOPLE;

let store: Store;
let app: FastifyInstance;
let audit: AuditLog;
let tokens: TokenService;
/** Every event the control plane sent to the tokens topic, in order. */
const published: TokenEvent[] = [];

/** The tokens topic as every instance applies it (src/pipeline/tables.ts tokensTable). */
async function applyAsCluster(event: TokenEvent): Promise<void> {
  published.push(tokenEventSchema.parse(JSON.parse(JSON.stringify(event))));
  await store.env.transaction(() => applyTokenEvent(lmdbTokenTable(store), event));
}

beforeAll(async () => {
  await seedStore(dataDir);
  store = openStore({ dataDir });
  const loaded = loadConfig({ env: { IMEIFLOW_DATA_DIR: dataDir } });
  // The mapping, without the client CA that asking for certificates over TLS needs (the
  // configuration insists on one): the test hook below stands in for the TLS socket.
  const config = {
    ...loaded,
    http: {
      ...loaded.http,
      tls: { ...loaded.http.tls, clientCertificates: Object.values(PEOPLE).map((p) => ({ ...p })) },
    },
  };
  tokens = new TokenService(store, 60, applyAsCluster);
  audit = new AuditLog(store, dataDir);
  // A holder the cluster has known for 70 days (enrolled by an instance that started then).
  await applyAsCluster({
    type: 'cert-enrol',
    iin: PEOPLE.idle.iin,
    at: new Date(Date.now() - 70 * DAY_MS).toISOString(),
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
  // What src/http/tls.ts decides from a verified certificate's subject.
  app.addHook('onRequest', async (request) => {
    const who = request.headers['x-test-certificate'];
    if (typeof who !== 'string') return;
    const person = PEOPLE[who as Person];
    request.peer = { kind: 'person', iin: person.iin, name: person.name, role: person.role, operator: null };
  });
});

afterAll(async () => {
  await app?.close();
  await audit?.close();
  await store?.close();
});

const as = (who: Person, headers: Record<string, string> = {}) => ({ 'x-test-certificate': who, ...headers });
const certificate = (iin: string): CertificateRecord | undefined => {
  store.env.resetReadTxn();
  return store.certificates.get(iin);
};
const problemType = (response: { json(): unknown }) => (response.json() as { type: string }).type;

describe('the 60-day idle block for certificate holders', () => {
  it('every configured holder is enrolled when the control plane starts: the idle clock runs from then', () => {
    for (const person of Object.values(PEOPLE)) {
      expect(certificate(person.iin), person.name).toMatchObject({
        iin: person.iin,
        lastUsedAt: null,
        revokedAt: null,
        blockedAt: null,
      });
    }
    expect(
      published
        .filter((e) => e.type === 'cert-enrol')
        .map((e) => (e as { iin: string }).iin)
        .sort(),
    ).toEqual(
      Object.values(PEOPLE)
        .map((p) => p.iin)
        .sort(),
    );
  });

  it('use is recorded on the tokens topic, at most once a minute per holder', async () => {
    const before = published.length;
    for (let i = 0; i < 3; i++) {
      const response = await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('reviewer') });
      expect(response.statusCode).toBe(200);
    }
    const uses = published.slice(before).filter((e) => e.type === 'cert-use');
    expect(uses).toEqual([expect.objectContaining({ type: 'cert-use', iin: PEOPLE.reviewer.iin })]);
    // Sent without holding up the request: applied a moment later.
    await vi.waitFor(() =>
      expect(certificate(PEOPLE.reviewer.iin)?.lastUsedAt).toBe((uses[0] as { at: string }).at),
    );
    expect(tokenEventKey(uses[0]!)).toBe(`cert-use/${PEOPLE.reviewer.iin}`);
  });

  it('a holder unused for 60 days is refused and blocked for good, on every instance; reinstating lets them in', async () => {
    // The holder's last use, as another instance recorded it 61 days ago.
    await applyAsCluster({
      type: 'cert-use',
      iin: PEOPLE.idle.iin,
      at: new Date(Date.now() - 61 * DAY_MS).toISOString(),
    });
    const auditBefore = audit.query({ limit: 10_000 }).length;
    const refused = await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('idle') });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(problemType(refused)).toBe('https://imeiflow.kz/problems/certificate-expired');
    expect(published.at(-1)).toMatchObject({ type: 'cert-block', iin: PEOPLE.idle.iin });
    await vi.waitFor(() => expect(certificate(PEOPLE.idle.iin)?.blockedAt).not.toBeNull());
    expect(audit.query({ limit: 10_000 }).slice(auditBefore)).toEqual([
      expect.objectContaining({ actor: 'b.idle', role: 'reviewer', action: 'access.refused' }),
    ]);
    // Blocked, not merely idle: a use recorded since (on an instance that had not seen the
    // block yet) does not lift it.
    await applyAsCluster({ type: 'cert-use', iin: PEOPLE.idle.iin, at: new Date().toISOString() });
    expect(problemType(await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('idle') }))).toBe(
      'https://imeiflow.kz/problems/certificate-expired',
    );

    expect(await tokens.reinstateCertificate(PEOPLE.idle.iin)).toBe('reinstated');
    expect((await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('idle') })).statusCode).toBe(200);
    expect(await tokens.reinstateCertificate(PEOPLE.idle.iin)).toBe('active');
  });

  it('the idle clock of a holder never seen using the service runs from enrolment', () => {
    const enrolled = new Date(Date.now() - 61 * DAY_MS);
    const table = new Map<string, CertificateRecord>();
    const certificates = {
      get: (iin: string) => table.get(iin),
      put: (record: CertificateRecord) => void table.set(record.iin, record),
    };
    const tokenTable = {
      get: () => undefined,
      put: () => undefined,
      dropHash: () => undefined,
      certificates,
    };
    applyTokenEvent(tokenTable, { type: 'cert-enrol', iin: '880101300123', at: enrolled.toISOString() });
    // A second enrolment (an instance that started before it read the first) changes nothing.
    applyTokenEvent(tokenTable, { type: 'cert-enrol', iin: '880101300123', at: new Date().toISOString() });
    expect(table.get('880101300123')?.enrolledAt).toBe(enrolled.toISOString());
  });
});

describe('revocation without a restart', () => {
  it('a revoked holder is refused at once, on the connection it already holds; the refusal is audited under its name', async () => {
    const headers = as('leaver');
    expect((await app.inject({ url: '/v1/audit?limit=1', headers })).statusCode).toBe(200);
    expect(await tokens.revokeCertificate(PEOPLE.leaver.iin)).toBe(true);
    expect(published.at(-1)).toMatchObject({ type: 'cert-revoke', iin: PEOPLE.leaver.iin });
    const auditBefore = audit.query({ limit: 10_000 }).length;
    const refused = await app.inject({ url: '/v1/audit?limit=1', headers });
    expect(refused.statusCode).toBe(401);
    expect(problemType(refused)).toBe('https://imeiflow.kz/problems/certificate-revoked');
    expect(audit.query({ limit: 10_000 }).slice(auditBefore)).toEqual([
      expect.objectContaining({
        actor: 'c.leaver',
        role: 'admin',
        action: 'access.refused',
        target: expect.stringContaining('(revoked:'),
      }),
    ]);
    // Another holder is unaffected.
    expect((await app.inject({ url: `/v1/devices/${DEVICE}`, headers: as('reviewer') })).statusCode).toBe(
      200,
    );
    expect(await tokens.revokeCertificate(PEOPLE.leaver.iin)).toBe(false);

    expect(await tokens.reinstateCertificate(PEOPLE.leaver.iin)).toBe('reinstated');
    expect((await app.inject({ url: '/v1/audit?limit=1', headers })).statusCode).toBe(200);
  });

  it('after compaction (the latest event of each type per holder, in order) the state is the same', () => {
    const at = (minute: number) => `2026-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
    const iin = PEOPLE.leaver.iin;
    const events: TokenEvent[] = [
      { type: 'cert-enrol', iin, at: at(0) },
      { type: 'cert-revoke', iin, at: at(1) },
      { type: 'cert-reinstate', iin, at: at(2) },
      { type: 'cert-use', iin, at: at(3) },
      { type: 'cert-revoke', iin, at: at(4) },
    ];
    const fold = (list: readonly TokenEvent[]) => {
      const table = new Map<string, CertificateRecord>();
      const certificates = {
        get: (key: string) => table.get(key),
        put: (record: CertificateRecord) => void table.set(record.iin, record),
      };
      for (const e of list)
        applyTokenEvent(
          { get: () => undefined, put: () => undefined, dropHash: () => undefined, certificates },
          e,
        );
      return table.get(iin);
    };
    const latest = new Map<string, number>();
    for (const [i, e] of events.entries()) latest.set(tokenEventKey(e), i);
    const compacted = events.filter((e, i) => latest.get(tokenEventKey(e)) === i);
    expect(compacted.length).toBeLessThan(events.length);
    expect(fold(compacted)).toEqual(fold(events));
    expect(fold(events)).toMatchObject({ revokedAt: at(4), lastUsedAt: at(3) });
  });

  it('a certificate event names a valid IIN; anything else on the topic is not an event', () => {
    expect(
      tokenEventSchema.safeParse({ type: 'cert-revoke', iin: '880101300124', at: new Date().toISOString() })
        .success,
    ).toBe(false);
    expect(
      tokenEventSchema.safeParse({ type: 'cert-revoke', iin: '880101300123', at: new Date().toISOString() })
        .success,
    ).toBe(true);
  });
});

describe('imeiflow cert (no cluster: the data directory’s store)', () => {
  const cliDir = join(tempDir(), 'cli-data');
  const imeiflow = (...args: string[]) => {
    const run = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin/imeiflow.js'), 'cert', ...args], {
      encoding: 'utf8',
      env: { ...process.env, IMEIFLOW_DATA_DIR: cliDir, IMEIFLOW_LOG_LEVEL: 'warn' },
    });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };

  it('revokes, lists and reinstates a holder by IIN, audited; refuses a number that is no IIN', async () => {
    expect(imeiflow('revoke', '12345').code).toBe(2);
    const revoked = imeiflow('revoke', '880101300123');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(imeiflow('revoke', '880101300123').code).toBe(1);
    expect(imeiflow('list').stdout).toMatch(/^880101300123\trevoked \S+\tlast used never$/m);
    const reinstated = imeiflow('reinstate', '880101300123');
    expect(reinstated.code, reinstated.stderr).toBe(0);
    expect(imeiflow('list').stdout).toMatch(/^880101300123\tactive\tlast used never$/m);
    expect(imeiflow('reinstate', '880101300123').code).toBe(1);
    const cliStore = openStore({ dataDir: cliDir, readOnly: true });
    try {
      const entries = [...cliStore.audit.getRange()].map(({ value }) => value);
      expect(entries.map((e) => e.action)).toEqual(['cert.revoke', 'cert.reinstate']);
      // The audit trail is kept for good: it names the holder's IIN masked.
      expect(entries.every((e) => e.target === 'certificate holder 88••••••••23')).toBe(true);
    } finally {
      await cliStore.close();
    }
  });
});
