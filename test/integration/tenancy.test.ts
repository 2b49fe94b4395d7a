/**
 * Operators as tenants, dry runs as reads and certificate revocation, through the real service
 * (issue 22, points 1, 2 and 6): two instances over HTTPS with client certificates, on the
 * embedded cluster, their requests decided by the pipeline.
 *
 * - Two operators (tokens made with `imeiflow token create --operator`, and a certificate holder
 *   of one of them) cannot see each other's waiting requests or owners, on either instance; a
 *   registration's owner is read by the operator that registered the device (on the instance that
 *   owns its partition and, through the registry view of bdik.confirmations, on the other), and
 *   by another operator only once it asks about the device in a waiting request of its own.
 * - A dry-run guess of a registration's owner answers the same right or wrong, is in the cluster's
 *   audit trail, and is rate-limited (`rate-limited`, 429) past `security.dryRunLimit`.
 * - A certificate holder revoked with `imeiflow cert revoke IIN` (the CLI, through Kafka) is
 *   refused by both instances without a restart, and reinstated the same way.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_EXTENSIONS,
  makeCa,
  makeSigned,
  type Pair,
  SERVER_EXTENSIONS,
} from '../support/certificates.js';
import { clusterCli, within } from '../support/cluster-clients.js';
import { APPLE, imei } from '../support/fixtures.js';
import { type ServiceProcess, seeded, useRig } from '../support/rig.js';

const DRY_RUN_LIMIT = 3;
const DRY_RUN_WINDOW_MS = 5_000;
const HOLDER_IIN = '950306400710';
/** Declared released under procedure 40 in the samples: beeline registers it. */
const REGISTERED = '352099001761481';
/** A known TAC without a declaration: kcell and beeline both wait for KGD about it. */
const SHARED = imei(APPLE, 700);
const OWNER = {
  registered: '880101300123',
  kcell: '870412300416',
  beeline: '910205400123',
  claimant: '851102400337',
};
const PHONE = { registered: '+77011234567', kcell: '+77470000001', beeline: '+77050000002' };
const GUESS = '790503400569';

const rig = useRig({
  name: 'tenancy',
  tools: ['openssl'],
  stores: { a: seeded(), b: seeded() },
  kafka: { collect: [] },
});

let ca: Pair;
let holderCert: Pair;
let a: ServiceProcess;
let b: ServiceProcess;
const token: Record<'admin' | 'kcell' | 'beeline', string> = {} as never;

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

interface Call {
  readonly method?: string;
  readonly token?: string;
  readonly cert?: Pair;
  readonly basis?: string;
  readonly body?: unknown;
}

/** One HTTPS request to an instance, with a bearer token or a client certificate. */
function call(service: ServiceProcess, path: string, init: Call = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: service.port,
        path,
        method: init.method ?? 'GET',
        headers: {
          ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
          ...(init.basis === undefined ? {} : { 'x-basis': init.basis }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ca: readFileSync(ca.cert),
        ...(init.cert === undefined
          ? {}
          : { cert: readFileSync(init.cert.cert), key: readFileSync(init.cert.key) }),
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text,
            json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function waitReady(service: ServiceProcess): Promise<void> {
  await within(120_000, 'the instance ready over HTTPS', async () => {
    if (service.child.exitCode !== null)
      throw new Error(`service exited:\n${service.output.slice(-20).join('\n')}`);
    try {
      return (await call(service, '/readyz')).status === 200;
    } catch {
      return false;
    }
  });
}

/** A token made with the CLI on the cluster, once both instances know it. */
async function makeToken(name: string, role: string, ...extra: string[]): Promise<string> {
  const made = clusterCli(rig, 'token', 'create', '--name', name, '--role', role, ...extra);
  expect(made.status, made.stderr).toBe(0);
  const value = made.stdout.trim();
  for (const service of [a, b])
    await within(
      10_000,
      `${name} known`,
      async () => (await call(service, '/v1/info', { token: value })).status === 200,
    );
  return value;
}

interface Device {
  status: string;
  registry: Record<string, unknown> | null;
  pending: { requestId: string; operator: string; ownerId?: string | null }[];
}

const device = async (service: ServiceProcess, imeiText: string, init: Call) =>
  (await call(service, `/v1/devices/${imeiText}`, init)) as Answer & {
    json: Device & Record<string, unknown>;
  };

function request(requestId: string, device: string, operator: string, ownerId: string, msisdn?: string) {
  return {
    requestId,
    imei: device,
    operator,
    channel: 'import',
    ownerId,
    ...(msisdn === undefined ? {} : { msisdn }),
  };
}

async function auditOf(service: ServiceProcess, query: string): Promise<Record<string, string>[]> {
  const answer = await call(service, `/v1/audit?${query}`, { token: token.admin });
  expect(answer.status).toBe(200);
  return answer.json['entries'] as Record<string, string>[];
}

beforeAll(async () => {
  ca = makeCa(rig.root, 'client-ca');
  const server = makeSigned(rig.root, 'server', '/CN=localhost', ca, SERVER_EXTENSIONS);
  holderCert = makeSigned(
    rig.root,
    'holder',
    `/CN=KASYMOV DAULET/serialNumber=IIN${HOLDER_IIN}/C=KZ`,
    ca,
    CLIENT_EXTENSIONS,
  );
  const options = {
    env: {
      IMEIFLOW_HTTP_TLS_CERT_FILE: server.cert,
      IMEIFLOW_HTTP_TLS_KEY_FILE: server.key,
      IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE: ca.cert,
      IMEIFLOW_DRY_RUN_LIMIT: String(DRY_RUN_LIMIT),
      IMEIFLOW_DRY_RUN_WINDOW_MS: String(DRY_RUN_WINDOW_MS),
    },
    config: {
      http: {
        tls: {
          clientCertificates: [{ iin: HOLDER_IIN, name: 'd.kasymov', role: 'operator', operator: 'kcell' }],
        },
      },
    },
  };
  a = await rig.startService('a', options);
  b = await rig.startService('b', options);
  await Promise.all([waitReady(a), waitReady(b)]);
  token.admin = await makeToken('tenancy.admin', 'admin');
  token.kcell = await makeToken('kcell.app', 'operator', '--operator', 'kcell');
  token.beeline = await makeToken('beeline.app', 'operator', '--operator', 'beeline');

  const { topics, producer } = rig;
  producer.sendJson(
    topics.requests,
    REGISTERED,
    request('beeline-1', REGISTERED, 'beeline', OWNER.registered, PHONE.registered),
  );
  producer.sendJson(topics.requests, SHARED, request('kcell-3', SHARED, 'kcell', OWNER.kcell, PHONE.kcell));
  producer.sendJson(
    topics.requests,
    SHARED,
    request('beeline-7', SHARED, 'beeline', OWNER.beeline, PHONE.beeline),
  );
  await producer.flush();
  for (const service of [a, b]) {
    await within(30_000, 'the registration and both waiting requests on every instance', async () => {
      const [registered, shared] = await Promise.all([
        device(service, REGISTERED, { token: token.admin }),
        device(service, SHARED, { token: token.admin }),
      ]);
      return registered.json.status === 'registered' && shared.json.pending?.length === 2;
    });
  }
});

describe('operators as tenants, through the real service', () => {
  it("two operators cannot see each other's waiting requests or owners, on either instance", async () => {
    for (const service of [a, b]) {
      const kcell = await device(service, SHARED, { token: token.kcell, basis: 'ticket 1' });
      expect(kcell.status).toBe(200);
      expect(kcell.json.pending).toEqual([
        expect.objectContaining({ requestId: 'kcell-3', ownerId: OWNER.kcell }),
      ]);
      for (const secret of ['beeline-7', OWNER.beeline, PHONE.beeline])
        expect(kcell.text).not.toContain(secret);

      const beeline = await device(service, SHARED, { token: token.beeline, basis: 'ticket 2' });
      expect(beeline.json.pending).toEqual([
        expect.objectContaining({ requestId: 'beeline-7', ownerId: OWNER.beeline }),
      ]);
      for (const secret of ['kcell-3', OWNER.kcell, PHONE.kcell]) expect(beeline.text).not.toContain(secret);

      // kcell's certificate holder is kcell too.
      const holder = await device(service, SHARED, { cert: holderCert, basis: 'ticket 3' });
      expect(holder.json.pending.map((p) => p.requestId)).toEqual(['kcell-3']);

      // A registration: beeline's request made it, so beeline reads its owner; kcell, which does
      // not wait for the device, reads neither the owner nor whose request it was.
      const mine = await device(service, REGISTERED, { token: token.beeline, basis: 'ticket 4' });
      expect(mine.json.registry).toMatchObject({
        requestId: 'beeline-1',
        operator: 'beeline',
        ownerId: OWNER.registered,
        msisdn: PHONE.registered,
      });
      const theirs = await device(service, REGISTERED, { token: token.kcell, basis: 'ticket 4' });
      expect(theirs.json.status).toBe('registered');
      for (const secret of [OWNER.registered, PHONE.registered, 'beeline-1', 'beeline'])
        expect(theirs.text).not.toContain(secret);
    }
  });

  it('a dry-run guess of an owner answers the same right or wrong, is audited, and is rate-limited', async () => {
    const guess = (ownerId: string) =>
      call(a, '/v1/verify', {
        method: 'POST',
        token: token.kcell,
        basis: 'ticket 5',
        body: request('dry-1', REGISTERED, 'kcell', ownerId),
      });
    const right = await guess(OWNER.registered);
    const wrong = await guess(GUESS);
    expect(right.status).toBe(200);
    expect(right.json['decision']).toMatchObject({ outcome: 'withheld' });
    expect(right.text).toBe(wrong.text);
    for (const secret of [OWNER.registered, PHONE.registered, 'owner_conflict', 'confirmed'])
      expect(right.text).not.toContain(secret);
    expect((await guess(GUESS)).status).toBe(200);
    const limited = await guess(OWNER.registered);
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({
      type: 'https://imeiflow.kz/problems/rate-limited',
      limit: DRY_RUN_LIMIT,
    });

    // The cluster's trail, read through the other instance.
    await within(
      10_000,
      'the dry runs in the audit trail',
      async () => (await auditOf(b, 'actor=kcell.app&action=verify.dry-run')).length === DRY_RUN_LIMIT,
    );
    expect(await auditOf(b, 'actor=kcell.app&action=verify.dry-run')).toEqual(
      Array.from({ length: DRY_RUN_LIMIT }, () =>
        expect.objectContaining({
          role: 'operator',
          basis: 'ticket 5',
          target: `${REGISTERED} (registry consulted: registered, owner withheld)`,
        }),
      ),
    );
    await within(10_000, 'the refused dry run in the audit trail', async () =>
      (await auditOf(b, 'actor=kcell.app&action=access.refused')).some((e) =>
        e['target']!.startsWith('POST /v1/verify from 127.0.0.1 (rate-limited:'),
      ),
    );
  });

  it('an operator asking about a registered device in its own waiting request reads the registration it conflicts with', async () => {
    rig.producer.sendJson(
      rig.topics.requests,
      REGISTERED,
      request('kcell-5', REGISTERED, 'kcell', OWNER.claimant),
    );
    await rig.producer.flush();
    await within(30_000, "kcell's owner conflict waiting on both", async () =>
      (await Promise.all([a, b].map((s) => device(s, REGISTERED, { token: token.kcell })))).every(
        (d) => d.json.pending?.some((p) => p.requestId === 'kcell-5') === true,
      ),
    );
    for (const service of [a, b]) {
      const kcell = await device(service, REGISTERED, { token: token.kcell, basis: 'ticket 6' });
      expect(kcell.json.registry).toMatchObject({ ownerId: OWNER.registered, msisdn: PHONE.registered });
      // beeline registered it: its registration's owner, but not kcell's claim.
      const beeline = await device(service, REGISTERED, { token: token.beeline, basis: 'ticket 7' });
      expect(beeline.json.registry).toMatchObject({ ownerId: OWNER.registered });
      for (const secret of [OWNER.claimant, 'kcell-5']) expect(beeline.text).not.toContain(secret);
    }
    // The dry run that was withheld answers now (the rate-limit window over), audited as a read.
    await new Promise((resolve) => setTimeout(resolve, DRY_RUN_WINDOW_MS));
    const shown = await call(a, '/v1/verify', {
      method: 'POST',
      token: token.kcell,
      basis: 'ticket 8',
      body: request('dry-2', REGISTERED, 'kcell', OWNER.claimant),
    });
    expect(shown.json).toMatchObject({
      decision: { outcome: 'review', reason: 'owner_conflict' },
      personalData: true,
      registeredOwner: { ownerId: OWNER.registered },
    });
    await within(10_000, 'the read in the audit trail', async () =>
      (await auditOf(b, 'actor=kcell.app&action=verify.read-personal')).some(
        (e) => e['basis'] === 'ticket 8',
      ),
    );
  });

  it('a revoked certificate is refused by both instances without a restart, and reinstated the same way', async () => {
    const path = `/v1/devices/${SHARED}`;
    for (const service of [a, b]) expect((await call(service, path, { cert: holderCert })).status).toBe(200);
    const revoked = clusterCli(rig, 'cert', 'revoke', HOLDER_IIN);
    expect(revoked.status, revoked.stderr).toBe(0);
    const refusedAfterMs = await within(10_000, 'the revocation on both', async () =>
      (await Promise.all([a, b].map((s) => call(s, path, { cert: holderCert })))).every(
        (r) => r.status === 401 && r.json['type'] === 'https://imeiflow.kz/problems/certificate-revoked',
      ),
    );
    // Tokens are not affected.
    expect((await call(b, path, { token: token.kcell })).status).toBe(200);
    await within(
      10_000,
      'the revocation in the audit trail',
      async () => (await auditOf(b, 'action=cert.revoke')).length === 1,
    );
    const listed = clusterCli(rig, 'cert', 'list');
    expect(listed.stdout).toMatch(new RegExp(`^${HOLDER_IIN}\\trevoked `, 'm'));

    const reinstated = clusterCli(rig, 'cert', 'reinstate', HOLDER_IIN);
    expect(reinstated.status, reinstated.stderr).toBe(0);
    await within(10_000, 'the reinstatement on both', async () =>
      (await Promise.all([a, b].map((s) => call(s, path, { cert: holderCert })))).every(
        (r) => r.status === 200,
      ),
    );
    process.stdout.write(
      `${JSON.stringify({ test: 'tenancy', certificate_revoked_on_both_ms: refusedAfterMs })}\n`,
    );
  });
});
