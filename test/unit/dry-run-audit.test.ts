/**
 * Dry runs are reads (issue 22, point 2), through Fastify's inject over a real LMDB store:
 *
 * - every POST /v1/verify is audited: who, the IMEI, and whether the registry was consulted;
 * - dry runs are rate-limited per account (`security.dryRunLimit` within `security.dryRunWindowMs`),
 *   `rate-limited` (429) past it, counted and audited as a refusal;
 * - the answer follows the role's customs view (no application, procedure or grounds in the
 *   `reduced` view) and tenancy as GET /v1/devices does: whatever rule 5 decides from a
 *   registration's owner and phone — confirmed, an owner conflict, a new phone — is a read of them,
 *   answered only to whoever may read them (a role with personal data, a basis, and for an
 *   operator a waiting request of its own for the device). A guessed owner gets the same answer
 *   whether it is right or wrong: no oracle.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Config, loadConfig } from '../../src/config/config.js';
import { isImeiflowError } from '../../src/errors.js';
import { buildControlPlane } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { AuditLog } from '../../src/security/audit-log.js';
import { TokenService } from '../../src/security/tokens.js';
import { openStore, type Store } from '../../src/store/store.js';
import { APPLE, imei, seedStore } from '../support/fixtures.js';
import { putSealed } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const dataDir = join(tempDir(), 'data');
const LIMIT = 3;
const WINDOW_MS = 1000;
/** Registered to OWNER; no operator waits for it. */
const REGISTERED = imei(APPLE, 42);
/** Registered to CONFLICT_OWNER; kcell waits for it for CLAIMANT (owner conflict, in review). */
const CONFLICT = imei(APPLE, 43);
const OWNER = '880101300123';
const PHONE = '+77011234567';
const CONFLICT_OWNER = '990340005977';
const CLAIMANT = '851102400337';
const GUESS = '910205400123';
/** The samples' declarations: released under 40, released under 80 (transit), refused. */
const RELEASED = '352099001761481';
const TRANSIT = '353328110000013';
const REFUSED = '867697040000015';

let store: Store;
let audit: AuditLog;
let tokens: TokenService;
let app: FastifyInstance;
let limited: FastifyInstance;
let limitedMetrics: Metrics;
const token: Record<string, string> = {};

function build(config: Config, metrics = new Metrics({ defaultMetrics: false })): Promise<FastifyInstance> {
  return buildControlPlane({
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
}

beforeAll(async () => {
  await seedStore(dataDir);
  store = openStore({ dataDir });
  tokens = new TokenService(store, 60);
  audit = new AuditLog(store, dataDir);
  token['kcell'] = await tokens.create('kcell.app', 'operator', { operator: 'kcell' });
  token['beeline'] = await tokens.create('beeline.app', 'operator', { operator: 'beeline' });
  token['tele2'] = await tokens.create('tele2.app', 'operator', { operator: 'tele2' });
  token['reviewer'] = await tokens.create('a.nurlanova', 'reviewer');
  token['busy'] = await tokens.create('busy.app', 'operator', { operator: 'kcell' });
  token['calm'] = await tokens.create('calm.app', 'operator', { operator: 'kcell' });
  const at = '2026-11-20T10:00:00.000Z';
  const registered = (device: string, requestId: string, ownerId: string) => ({
    requestId,
    partition: 1,
    imei: device,
    ownerId,
    msisdn: PHONE,
    evidence: 'kgd-release' as const,
    // Registered by a third operator: neither kcell nor beeline reads it by having registered it.
    operator: 'tele2',
    applicationId: 'KZ-2025-000042',
    procedure: '40',
    at,
  });
  // As the service stores them: owners and phones sealed under the store's subject keys.
  await putSealed(store, (put) => {
    put.registry(REGISTERED.slice(0, 14), registered(REGISTERED, 'tele2-1', OWNER));
    put.registry(CONFLICT.slice(0, 14), registered(CONFLICT, 'tele2-2', CONFLICT_OWNER));
    put.reviews(CONFLICT.slice(0, 14), [
      {
        request: {
          requestId: 'kcell-9',
          imei: CONFLICT,
          operator: 'kcell',
          channel: 'import',
          ownerId: CLAIMANT,
        },
        partition: 1,
        source: '1/9',
        stage: 'review',
        reason: 'owner_conflict',
        detail: 'registered to another owner',
        since: at,
        deadline: null,
      },
    ]);
    // beeline's request, answered: rule 10 makes its requestId a duplicate for anyone.
    put.outcome('beeline-77', {
      decision: {
        outcome: 'confirmed',
        requestId: 'beeline-77',
        imei: REGISTERED,
        body: REGISTERED.slice(0, 14),
        evidence: 'kgd-release',
        operator: 'beeline',
        applicationId: 'KZ-2025-000042',
        procedure: '40',
        device: { tac: APPLE, brand: 'Apple', model: 'iPhone 6', deviceType: 'Smartphone' },
        ownerId: OWNER,
        msisdn: PHONE,
        notify: true,
        detail: 'released under application KZ-2025-000042, procedure 40',
      },
      source: '1/77',
      at,
    });
  });

  app = await build(loadConfig({ env: { IMEIFLOW_DATA_DIR: dataDir, IMEIFLOW_DRY_RUN_LIMIT: '1000' } }));
  limitedMetrics = new Metrics({ defaultMetrics: false });
  limited = await build(
    loadConfig({
      env: {
        IMEIFLOW_DATA_DIR: dataDir,
        IMEIFLOW_DRY_RUN_LIMIT: String(LIMIT),
        IMEIFLOW_DRY_RUN_WINDOW_MS: String(WINDOW_MS),
      },
    }),
    limitedMetrics,
  );
});

afterAll(async () => {
  await app?.close();
  await limited?.close();
  await audit?.close();
  await store?.close();
});

interface Answer {
  status: number;
  text: string;
  headers: Record<string, unknown>;
  json: {
    decision: Record<string, unknown>;
    steps: string[];
    personalData: boolean;
    withheld: boolean;
    registeredOwner?: Record<string, unknown>;
    customsView?: string;
    type?: string;
  };
}

async function dryRun(
  who: string,
  payload: Record<string, unknown>,
  basis?: string,
  on: FastifyInstance = app,
): Promise<Answer> {
  const response = await on.inject({
    method: 'POST',
    url: '/v1/verify',
    headers: {
      authorization: `Bearer ${token[who]}`,
      ...(basis === undefined ? {} : { 'x-basis': basis }),
    },
    payload: { requestId: 'dry-1', operator: 'kcell', channel: 'import', ...payload },
  });
  return {
    status: response.statusCode,
    text: response.body,
    headers: response.headers,
    json: response.json() as Answer['json'],
  };
}

const auditSince = (from: number) => audit.query({ limit: 100_000 }).slice(from);
const auditCount = () => audit.query({ limit: 100_000 }).length;

describe('every dry run is audited', () => {
  it('with the account, the IMEI and whether the registry was consulted', async () => {
    const before = auditCount();
    await dryRun('kcell', { imei: RELEASED, channel: 'boat' });
    await dryRun('kcell', { imei: imei('99999999', 1) });
    await dryRun('kcell', { imei: RELEASED, ownerId: GUESS });
    await dryRun('kcell', { imei: REGISTERED, ownerId: GUESS });
    await dryRun('reviewer', { imei: REGISTERED, ownerId: OWNER }, 'case 2026/7');
    expect(
      auditSince(before).map(({ actor, role, action, basis, target }) => ({
        actor,
        role,
        action,
        basis,
        target,
      })),
    ).toEqual([
      {
        actor: 'kcell.app',
        role: 'operator',
        action: 'verify.dry-run',
        basis: null,
        target: `${RELEASED} (registry not consulted)`,
      },
      {
        actor: 'kcell.app',
        role: 'operator',
        action: 'verify.dry-run',
        basis: null,
        target: `${imei('99999999', 1)} (registry not consulted)`,
      },
      {
        actor: 'kcell.app',
        role: 'operator',
        action: 'verify.dry-run',
        basis: null,
        target: `${RELEASED} (registry consulted: not registered)`,
      },
      {
        actor: 'kcell.app',
        role: 'operator',
        action: 'verify.dry-run',
        basis: null,
        target: `${REGISTERED} (registry consulted: registered, owner withheld)`,
      },
      {
        actor: 'a.nurlanova',
        role: 'reviewer',
        action: 'verify.read-personal',
        basis: 'case 2026/7',
        target: `${REGISTERED} (registry consulted: registered, owner shown)`,
      },
    ]);
  });
});

describe('no owner oracle', () => {
  it('a guessed owner gets the same answer right or wrong, with or without a basis, from an operator that does not wait for the device', async () => {
    const answers: string[] = [];
    for (const who of ['kcell', 'beeline']) {
      for (const guess of [{ ownerId: OWNER }, { ownerId: GUESS }, { ownerId: OWNER, msisdn: PHONE }, {}]) {
        for (const basis of [undefined, 'ticket 12']) {
          const answer = await dryRun(who, { imei: REGISTERED, ...guess }, basis);
          expect(answer.status).toBe(200);
          expect(answer.json).toMatchObject({
            decision: { outcome: 'withheld', requestId: 'dry-1', imei: REGISTERED },
            personalData: false,
            withheld: true,
          });
          for (const secret of [OWNER, PHONE, 'tele2-1', 'owner_conflict', 'confirmed'])
            expect(answer.text, `${who} ${JSON.stringify(guess)}: ${secret}`).not.toContain(secret);
          answers.push(answer.text);
        }
      }
    }
    // Whatever was guessed: one answer (the request's own fields are not echoed back).
    expect(new Set(answers).size).toBe(1);
  });

  it('a reviewer without a basis is answered the same; with one, the decision rule 5 makes, audited', async () => {
    const right = await dryRun('reviewer', { imei: REGISTERED, ownerId: OWNER });
    const wrong = await dryRun('reviewer', { imei: REGISTERED, ownerId: GUESS });
    expect(right.json.decision).toMatchObject({ outcome: 'withheld' });
    expect(right.text).toBe(wrong.text);
    const shown = await dryRun('reviewer', { imei: REGISTERED, ownerId: GUESS }, 'case 2026/8');
    expect(shown.json).toMatchObject({
      decision: { outcome: 'review', reason: 'owner_conflict' },
      personalData: true,
      withheld: false,
      registeredOwner: { ownerId: OWNER, msisdn: PHONE, requestId: 'tele2-1' },
    });
  });

  it('an operator asking about the device in its own waiting request reads the decision, with a basis, audited', async () => {
    expect((await dryRun('kcell', { imei: CONFLICT, ownerId: CLAIMANT })).json.decision).toMatchObject({
      outcome: 'withheld',
    });
    const before = auditCount();
    const shown = await dryRun('kcell', { imei: CONFLICT, ownerId: CLAIMANT }, 'ticket 13');
    expect(shown.json).toMatchObject({
      decision: { outcome: 'review', reason: 'owner_conflict' },
      personalData: true,
      registeredOwner: { ownerId: CONFLICT_OWNER },
    });
    expect(auditSince(before)).toEqual([
      expect.objectContaining({
        actor: 'kcell.app',
        action: 'verify.read-personal',
        basis: 'ticket 13',
        target: `${CONFLICT} (registry consulted: registered, owner shown)`,
      }),
    ]);
    // beeline does not wait for it: withheld, basis or not.
    expect(
      (await dryRun('beeline', { imei: CONFLICT, ownerId: CLAIMANT }, 'ticket 14')).json.decision,
    ).toMatchObject({
      outcome: 'withheld',
    });
  });

  it('the operator that registered the device reads the decision, with a basis, audited', async () => {
    const plain = await dryRun('tele2', { imei: REGISTERED, ownerId: GUESS });
    expect(plain.json.decision).toMatchObject({ outcome: 'withheld' });
    const before = auditCount();
    const shown = await dryRun('tele2', { imei: REGISTERED, ownerId: GUESS }, 'ticket 15');
    expect(shown.json).toMatchObject({
      decision: { outcome: 'review', reason: 'owner_conflict' },
      personalData: true,
      registeredOwner: { ownerId: OWNER, msisdn: PHONE, requestId: 'tele2-1' },
    });
    expect(auditSince(before)).toEqual([
      expect.objectContaining({
        actor: 'tele2.app',
        action: 'verify.read-personal',
        basis: 'ticket 15',
        target: `${REGISTERED} (registry consulted: registered, owner shown)`,
      }),
    ]);
  });

  it("another request's requestId is a duplicate, without that request's device, outcome or owner", async () => {
    const answer = await dryRun('kcell', { requestId: 'beeline-77', imei: RELEASED, ownerId: GUESS });
    expect(answer.json.decision).toMatchObject({
      outcome: 'rejected',
      reason: 'duplicate_request',
      imei: RELEASED,
    });
    for (const secret of [REGISTERED, OWNER, 'confirmed', 'KZ-2025-000042'])
      expect(answer.text).not.toContain(secret);
    const reviewer = await dryRun('reviewer', { requestId: 'beeline-77', imei: RELEASED });
    expect(reviewer.json.decision).toMatchObject({
      reason: 'duplicate_request',
      detail: expect.stringContaining('confirmed'),
    });
  });
});

describe('a device whose partition another instance owns', () => {
  it('is read through that owner (the registry view), as GET /v1/devices reads it: withheld, not "not registered"', async () => {
    const elsewhere = imei(APPLE, 44);
    const instance = await buildControlPlane({
      config: loadConfig({ env: { IMEIFLOW_DATA_DIR: dataDir } }),
      log: createLogger('silent'),
      store,
      tokens,
      audit,
      metrics: new Metrics({ defaultMetrics: false }),
      info: { version: 'test', embeddedKafka: true, brokers: 'none', topics: {}, partitions: 4, workers: 1 },
      // This store holds no registration of it; the partition's owner does.
      registryOf: (body) =>
        body === elsewhere.slice(0, 14)
          ? {
              requestId: 'beeline-3',
              partition: 3,
              imei: elsewhere,
              ownerId: OWNER,
              msisdn: PHONE,
              evidence: 'kgd-release',
              operator: 'beeline',
              applicationId: 'KZ-2025-000042',
              procedure: '40',
              at: '2026-11-20T10:00:00.000Z',
            }
          : store.registry.get(body),
      notReadyReason: () => null,
      ownedPartitions: () => [0, 1],
    });
    try {
      const answer = await dryRun('kcell', { imei: elsewhere, ownerId: GUESS }, undefined, instance);
      expect(answer.json.decision).toMatchObject({ outcome: 'withheld' });
      const shown = await dryRun('reviewer', { imei: elsewhere, ownerId: GUESS }, 'case 2026/9', instance);
      expect(shown.json).toMatchObject({
        decision: { outcome: 'review', reason: 'owner_conflict' },
        registeredOwner: { requestId: 'beeline-3' },
      });
    } finally {
      await instance.close();
    }
  });
});

describe("the answer follows the role's customs view", () => {
  it('reduced: no application, procedure or grounds in the decision or the steps', async () => {
    for (const [device, outcome] of [
      [RELEASED, { outcome: 'confirmed', evidence: 'kgd-release' }],
      [TRANSIT, { outcome: 'rejected', reason: 'procedure_not_eligible' }],
      [REFUSED, { outcome: 'rejected', reason: 'declaration_refused' }],
    ] as const) {
      for (const named of [{}, { applicationId: 'KZ-2025-000042' }]) {
        const answer = await dryRun('kcell', { imei: device, ownerId: GUESS, ...named });
        if (Object.keys(named).length === 0) expect(answer.json.decision, device).toMatchObject(outcome);
        expect(answer.json).toMatchObject({ customsView: 'reduced' });
        expect(answer.json.decision).not.toHaveProperty('procedure');
        expect(answer.json.decision).not.toHaveProperty('grounds');
        expect(answer.json.decision).not.toHaveProperty('applicationId');
        for (const secret of ['KZ-2025-000043', 'KZ-2025-000044', 'procedure 40', 'procedure 80'])
          expect(answer.text, `${device} ${JSON.stringify(named)}`).not.toContain(secret);
        if (Object.keys(named).length === 0) expect(answer.text).not.toContain('KZ-2025-000042');
      }
    }
  });

  it('full: a reviewer sees the application and procedure', async () => {
    const answer = await dryRun('reviewer', { imei: RELEASED, ownerId: GUESS });
    expect(answer.json).toMatchObject({
      customsView: 'full',
      decision: { outcome: 'confirmed', applicationId: 'KZ-2025-000042', procedure: '40' },
    });
  });
});

describe('rate limit per account', () => {
  it(`${LIMIT} dry runs within ${WINDOW_MS} ms, then rate-limited (429), audited and counted; other accounts are not affected`, async () => {
    const payload = { imei: RELEASED };
    // The clock stands still for the runs within the window, and is moved past it: a loaded
    // machine that takes longer than the window over them cannot let the one over the limit in.
    const start = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: start });
    try {
      for (let i = 0; i < LIMIT; i++)
        expect((await dryRun('busy', payload, undefined, limited)).status).toBe(200);
      const before = auditCount();
      const refused = await dryRun('busy', payload, undefined, limited);
      expect(refused.status).toBe(429);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.json).toMatchObject({
        type: 'https://imeiflow.kz/problems/rate-limited',
        limit: LIMIT,
        windowMs: WINDOW_MS,
      });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(auditSince(before)).toEqual([
        expect.objectContaining({
          actor: 'busy.app',
          action: 'access.refused',
          target: expect.stringContaining('(rate-limited:'),
        }),
      ]);
      const counted = (
        await limitedMetrics.registry.getSingleMetric('imeiflow_access_refusals_total')!.get()
      ).values.find((v) => v.labels['reason'] === 'rate-limited');
      expect(counted?.value).toBe(1);
      expect((await dryRun('calm', payload, undefined, limited)).status).toBe(200);
      vi.setSystemTime(start + WINDOW_MS + 1);
      expect((await dryRun('busy', payload, undefined, limited)).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('settings: 60 an hour by default; the variables set them; bad values are named', () => {
    expect(loadConfig({ env: {} }).security).toMatchObject({ dryRunLimit: 60, dryRunWindowMs: 3_600_000 });
    expect(
      loadConfig({ env: { IMEIFLOW_DRY_RUN_LIMIT: '5', IMEIFLOW_DRY_RUN_WINDOW_MS: '60000' } }).security,
    ).toMatchObject({ dryRunLimit: 5, dryRunWindowMs: 60_000 });
    let message = '';
    try {
      loadConfig({ env: { IMEIFLOW_DRY_RUN_LIMIT: '0' } });
    } catch (error) {
      expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
      message = (error as Error).message;
    }
    expect(message).toContain('IMEIFLOW_DRY_RUN_LIMIT');
  });
});
