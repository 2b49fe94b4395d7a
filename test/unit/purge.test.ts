/**
 * The two doors of a purge: `POST /v1/purge` (admins, a basis, problem+json on bad input, the
 * order audited and the device's command sent) and `imeiflow purge` on a data directory with no
 * cluster to reach, where it is carried out before the command returns. The cluster-wide path
 * is test/integration/purge.test.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runPurge } from '../../src/cli/purge-command.js';
import { loadConfig } from '../../src/config/config.js';
import type { Command } from '../../src/domain/commands.js';
import { luhnDigit } from '../../src/domain/imei.js';
import { buildControlPlane } from '../../src/http/app.js';
import { PROBLEMS } from '../../src/http/problem.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { CommandSender } from '../../src/pipeline/command-sender.js';
import { AuditLog } from '../../src/security/audit-log.js';
import { EMBEDDED_KEY_FILE } from '../../src/security/cluster-key.js';
import { TokenService } from '../../src/security/tokens.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import type { Store } from '../../src/store/store.js';
import { TEST_KEY } from '../support/cluster-key.js';
import { putSealed, testStore } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const OWNER = '880101300123';
const BODY = '35209900176148';
const IMEI = BODY + String(luhnDigit(BODY));

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  type: keyof typeof PROBLEMS,
): void {
  expect(response.statusCode, JSON.stringify(response.json())).toBe(PROBLEMS[type].status);
  expect(response.headers['content-type']).toContain('application/problem+json');
  expect(response.json()).toMatchObject({ type: `https://imeiflow.kz/problems/${type}` });
}

describe('POST /v1/purge', () => {
  const dataDir = join(tempDir(), 'http');
  let store: Store;
  let audit: AuditLog;
  let app: FastifyInstance;
  const tokens: Record<string, string> = {};
  const sent: Command[] = [];
  let kafkaDown = false;
  const commands: CommandSender = {
    async send(list) {
      if (kafkaDown) throw new Error('broker unreachable');
      sent.push(...list);
    },
  };

  beforeAll(async () => {
    store = testStore(dataDir);
    audit = new AuditLog(store, dataDir);
    const service = new TokenService(store, 60);
    for (const role of ['operator', 'reviewer', 'sre', 'admin'] as const)
      tokens[role] = await service.create(role, role);
    app = await buildControlPlane({
      config: loadConfig({ env: { IMEIFLOW_DATA_DIR: dataDir } }),
      log: createLogger('silent'),
      store,
      tokens: service,
      audit,
      metrics: new Metrics({ defaultMetrics: false }),
      commands,
      purge: { record: (event, now) => audit.record(event, now), commands },
      info: { version: 'test', embeddedKafka: true, brokers: 'none', topics: {}, partitions: 4, workers: 1 },
      notReadyReason: () => null,
      ownedPartitions: () => [0],
    });
  });

  afterAll(async () => {
    await app?.close();
    await audit?.close();
    await store?.close();
  });

  const purge = (who: string, payload: unknown, basis: string | null = 'court order 2/118') =>
    app.inject({
      method: 'POST',
      url: '/v1/purge',
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        'content-type': 'application/json',
        ...(basis === null ? {} : { 'x-basis': basis }),
      },
      payload: JSON.stringify(payload),
    });

  it('is for admins only, with a basis', async () => {
    for (const role of ['operator', 'reviewer', 'sre'])
      expectProblem(await purge(role, { imei: IMEI }), 'forbidden');
    expectProblem(await purge('admin', { imei: IMEI }, null), 'basis-required');
    expect(sent).toEqual([]);
  });

  it('names exactly one valid thing to purge', async () => {
    expectProblem(await purge('admin', {}), 'invalid-request');
    expectProblem(await purge('admin', { imei: IMEI, iin: OWNER }), 'invalid-request');
    expectProblem(await purge('admin', { imei: IMEI, extra: 1 }), 'invalid-request');
    expectProblem(await purge('admin', { imei: `${BODY}${(luhnDigit(BODY) + 1) % 10}` }), 'invalid-imei');
    expectProblem(await purge('admin', { iin: '880101300124' }), 'invalid-request');
    expectProblem(await purge('admin', { application: '' }), 'invalid-request');
    expect(sent).toEqual([]);
  });

  it('a device: the order in the audit trail, the command to its owner, and what goes', async () => {
    const response = await purge('admin', { imei: `${BODY.slice(0, 8)} ${BODY.slice(8)}` });
    expect(response.statusCode).toBe(202);
    const answer = response.json() as { orderedAt: string; destroys: string[] };
    expect(answer).toMatchObject({ status: 'accepted', kind: 'imei' });
    expect(answer.destroys.join(' ')).toContain('registry entry');
    expect(sent).toEqual([{ type: 'purge', body: BODY, issuedAt: answer.orderedAt }]);
    expect(audit.query({ limit: 100, action: 'purge.imei' })).toEqual([
      expect.objectContaining({ actor: 'admin', role: 'admin', basis: 'court order 2/118', target: IMEI }),
    ]);
  });

  it('an owner or an application: the order only (every instance finds what it holds)', async () => {
    sent.length = 0;
    expect((await purge('admin', { iin: OWNER })).statusCode).toBe(202);
    expect((await purge('admin', { application: 'KZ-2025-000042' })).statusCode).toBe(202);
    expect(sent).toEqual([]);
    // The order names the owner by pseudonym, never by IIN: the trail keeps it for good.
    const owners = store.pseudonyms.all(OWNER);
    expect(audit.query({ limit: 100 }).map((e) => `${e.action}:${e.target}`)).toEqual(
      expect.arrayContaining([`purge.iin:${owners.join(' ')}`, 'purge.application:KZ-2025-000042']),
    );
    expect(JSON.stringify(audit.query({ limit: 100 }))).not.toContain(OWNER);
    // An admin checks whether an IIN was purged by naming it; the check is audited, by pseudonym.
    const check = await app.inject({
      method: 'GET',
      url: `/v1/audit?iin=${OWNER}`,
      headers: { authorization: `Bearer ${tokens['admin']}` },
    });
    expect(check.json()).toMatchObject({
      count: 1,
      entries: [{ action: 'purge.iin', target: owners.join(' ') }],
    });
    const other = await app.inject({
      method: 'GET',
      url: '/v1/audit?iin=990340005977',
      headers: { authorization: `Bearer ${tokens['admin']}` },
    });
    expect(other.json()).toMatchObject({ count: 0 });
    expect(audit.query({ limit: 100, action: 'audit.purge-check' }).map((e) => e.target)).toEqual([
      owners[0],
      store.pseudonyms.current('990340005977'),
    ]);
  });

  it('Kafka refusing the command is kafka-unavailable: the order is safe to repeat', async () => {
    kafkaDown = true;
    try {
      expectProblem(await purge('admin', { imei: IMEI }), 'kafka-unavailable');
    } finally {
      kafkaDown = false;
    }
  });
});

describe('imeiflow purge with no cluster to reach', () => {
  const dataDir = join(tempDir(), 'cli');
  const config = loadConfig({ env: { IMEIFLOW_DATA_DIR: dataDir, IMEIFLOW_LOG_LEVEL: 'silent' } });

  beforeAll(async () => {
    // The embedded service's key, as `imeiflow run` leaves it in the data directory.
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, EMBEDDED_KEY_FILE), `${TEST_KEY}\n`);
    const store = testStore(dataDir);
    const at = new Date(Date.now() - 60_000).toISOString();
    await putSealed(store, (put) => {
      put.registry(BODY, {
        requestId: 'r-1',
        partition: 0,
        imei: IMEI,
        ownerId: OWNER,
        msisdn: '+77011234567',
        evidence: 'kgd-release',
        operator: 'beeline',
        applicationId: 'KZ-1',
        procedure: '40',
        at,
      });
      const entry = {
        request: {
          requestId: 'w-1',
          imei: IMEI,
          operator: 'kcell',
          channel: 'import' as const,
          ownerId: OWNER,
        },
        partition: 0,
        source: '0/9',
        stage: 'review' as const,
        reason: 'owner_conflict' as const,
        detail: 'waiting',
        since: at,
        deadline: null,
      };
      put.pending(BODY, [entry]);
      put.reviews(BODY, [entry]);
    });
    await store.env.transaction(() => {
      applyApplicationDecision(store, {
        entry: { applicationId: 'KZ-1', procedure: '40', status: 'released', hsCode: null, decidedAt: at },
        bodies: [BODY],
      });
    });
    await store.close();
  });

  it('refuses bad usage and bad input before anything happens', async () => {
    expect(await runPurge(config, { json: false, basis: 'x' })).toBe(2);
    expect(await runPurge(config, { json: false, imei: IMEI, iin: OWNER, basis: 'x' })).toBe(2);
    expect(await runPurge(config, { json: false, imei: IMEI })).toBe(2);
    expect(await runPurge(config, { json: false, iin: '123', basis: 'x' })).toBe(1);
  });

  it('carries the purge out on the store: registry, waiting request, review table, declarations; audited', async () => {
    expect(await runPurge(config, { json: true, imei: IMEI, basis: 'court order 2/118' })).toBe(0);
    const store = testStore(dataDir);
    try {
      expect(store.registry.get(BODY)).toBeUndefined();
      expect(store.pending.get(BODY)).toBeUndefined();
      expect(store.reviews.get(BODY)).toBeUndefined();
      expect(store.declarations.get(BODY)).toBeUndefined();
      expect(store.applications.get('KZ-1')?.imeiCount).toBe(0);
    } finally {
      await store.close();
    }
    const trail = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(trail.at(-1)!)).toMatchObject({
      action: 'purge.imei',
      target: IMEI,
      basis: 'court order 2/118',
      role: 'admin',
    });
  });

  it('an owner: their keys destroyed and what they sealed gone; the trail names them by pseudonym; --check finds it', async () => {
    const body = '35209900176149';
    const seed = testStore(dataDir);
    try {
      await putSealed(seed, (put) =>
        put.registry(body, {
          requestId: 'r-2',
          partition: 0,
          imei: `${body}9`,
          ownerId: OWNER,
          msisdn: '+77015550123',
          evidence: 'manual',
          operator: 'beeline',
          applicationId: null,
          procedure: null,
          at: new Date(Date.now() - 60_000).toISOString(),
        }),
      );
    } finally {
      await seed.close();
    }
    expect(await runPurge(config, { json: true, iin: OWNER, basis: 'court order 3/9' })).toBe(0);
    const store = testStore(dataDir);
    const owners = store.pseudonyms.all(OWNER);
    try {
      expect(store.registry.get(body)).toBeUndefined();
      expect(store.subjects.scopeKey(body, owners[0]!)).toBeUndefined();
    } finally {
      await store.close();
    }
    const archive = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8');
    expect(archive).not.toContain(OWNER);
    expect(JSON.parse(archive.trim().split('\n').at(-1)!)).toMatchObject({
      action: 'purge.iin',
      target: owners.join(' '),
    });
    const printed: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((text) => {
      printed.push(String(text));
      return true;
    });
    try {
      expect(await runPurge(config, { json: true, iin: OWNER, check: true })).toBe(0);
      expect(await runPurge(config, { json: true, iin: '990340005977', check: true })).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(
      printed.map((line) => JSON.parse(line) as { purged: boolean; pseudonyms: string[] }),
    ).toMatchObject([{ purged: true, pseudonyms: owners }, { purged: false }]);
  });
});
