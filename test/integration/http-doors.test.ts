/**
 * The control plane's doors through the real service (issue 22, point 4): two instances over
 * HTTPS with client certificates, on the embedded cluster.
 * - A browser-style cross-site `text/plain` POST, carrying the visitor's client certificate (the
 *   credential a browser adds by itself), is refused; the same certificate loads a `text/csv` file.
 * - An upload streamed past `http.maxUploadBytes` is answered 413 before it is all sent, no partial
 *   file is left in the data directory, and the attempt is in the audit trail.
 * - Refused requests are audited and counted; an account refused N times is blocked on both
 *   instances until `imeiflow token unblock` (the CLI, through Kafka) lifts it.
 * - The review page and the API docs run in Chromium under their Content-Security-Policy.
 * - GET /v1/info tells brokers and topics only to an authenticated caller.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
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

const UPLOAD_LIMIT = 64 * 1024;
const REFUSAL_LIMIT = 3;
const OPERATOR_IIN = '880101300123';

const rig = useRig({
  name: 'doors',
  tools: ['openssl', 'chromium'],
  stores: { a: seeded(), b: seeded() },
  kafka: { collect: [] },
});

let ca: Pair;
let operatorCert: Pair;
let a: ServiceProcess;
let b: ServiceProcess;
let admin: string;
let browser: Browser | undefined;
rig.onTeardown(() => browser?.close());

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: Record<string, unknown>;
  /** Body bytes the client had written when the answer's headers arrived. */
  readonly sentWhenAnswered: number;
}

interface Call {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly token?: string;
  readonly cert?: Pair;
  /** The client's own address (any of 127/8 on loopback). */
  readonly localAddress?: string;
  /** A body sent whole, or `total` bytes streamed in `chunk`-sized pieces without a length. */
  readonly body?: string | { readonly chunk: Buffer; readonly total: number };
}

/** One HTTPS request to an instance, as a client with or without a certificate would send it. */
function call(service: ServiceProcess, path: string, init: Call = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: service.port,
        path,
        method: init.method ?? 'GET',
        headers: {
          ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
          ...init.headers,
        },
        ca: readFileSync(ca.cert),
        ...(init.cert === undefined
          ? {}
          : { cert: readFileSync(init.cert.cert), key: readFileSync(init.cert.key) }),
        ...(init.localAddress === undefined ? {} : { localAddress: init.localAddress }),
        agent: false,
      },
      (res) => {
        answered = true;
        const sentWhenAnswered = sent;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {},
            sentWhenAnswered,
          }),
        );
      },
    );
    // A server that refuses an upload closes the connection while the client still writes.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const body = init.body;
    if (body === undefined || typeof body === 'string') {
      req.end(body);
      return;
    }
    const write = (): void => {
      while (!answered && sent < body.total) {
        sent += body.chunk.length;
        if (!req.write(body.chunk)) {
          req.once('drain', write);
          return;
        }
      }
      if (!answered) req.end();
    };
    write();
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
async function token(name: string, role: string): Promise<string> {
  // Operators are tenants: an operator token names its operator.
  const operator = role === 'operator' ? ['--operator', 'kcell'] : [];
  const made = clusterCli(rig, 'token', 'create', '--name', name, '--role', role, ...operator);
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

/** The cluster's audit trail as an instance's GET /v1/audit gives it. */
async function auditOf(service: ServiceProcess, query: string): Promise<Record<string, string>[]> {
  const answer = await call(service, `/v1/audit?${query}`, { token: admin });
  expect(answer.status).toBe(200);
  return answer.json['entries'] as Record<string, string>[];
}

async function metric(service: ServiceProcess, line: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: service.port,
        path: '/metrics',
        ca: readFileSync(ca.cert),
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? Number.NaN : Number(found.split(' ')[1]);
}

beforeAll(async () => {
  ca = makeCa(rig.root, 'client-ca');
  const server = makeSigned(rig.root, 'server', '/CN=localhost', ca, SERVER_EXTENSIONS);
  operatorCert = makeSigned(
    rig.root,
    'operator',
    `/CN=KASYMOV DAULET/serialNumber=IIN${OPERATOR_IIN}/C=KZ`,
    ca,
    CLIENT_EXTENSIONS,
  );
  const options = {
    env: {
      IMEIFLOW_HTTP_TLS_CERT_FILE: server.cert,
      IMEIFLOW_HTTP_TLS_KEY_FILE: server.key,
      IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE: ca.cert,
      IMEIFLOW_HTTP_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT),
      IMEIFLOW_REFUSAL_LIMIT: String(REFUSAL_LIMIT),
    },
    config: {
      http: { tls: { clientCertificates: [{ iin: OPERATOR_IIN, name: 'd.kasymov', role: 'operator' }] } },
    },
  };
  a = await rig.startService('a', options);
  b = await rig.startService('b', options);
  await Promise.all([waitReady(a), waitReady(b)]);
  admin = await token('doors.admin', 'admin');
});

describe('the doors of a running service', () => {
  it('a cross-site text/plain POST with the visitor’s client certificate is refused; the same certificate loads text/csv', async () => {
    const planted = imei(APPLE, 901);
    const own = imei(APPLE, 902);
    const csv = (device: string) => `imei,reason,source\n${device},stolen,operator report\n`;
    // What a hostile page's <form enctype="text/plain"> or fetch(…, {mode: 'no-cors'}) sends: the
    // browser adds the certificate by itself and asks nobody first.
    const crossSite = await call(a, '/v1/blocklist', {
      method: 'POST',
      cert: operatorCert,
      headers: {
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'no-cors',
        'sec-fetch-dest': 'empty',
        'content-type': 'text/plain;charset=UTF-8',
      },
      body: csv(planted),
    });
    expect(crossSite.status).toBe(415);
    expect(crossSite.headers['content-type']).toContain('application/problem+json');
    expect(crossSite.json).toMatchObject({ type: 'https://imeiflow.kz/problems/unsupported-media-type' });
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=b']) {
      const form = await call(a, '/v1/blocklist', {
        method: 'POST',
        cert: operatorCert,
        headers: { origin: 'https://evil.example', 'content-type': type },
        body: csv(planted),
      });
      expect(form.status, type).toBe(415);
    }

    // The certificate itself is good: its holder's own client sends text/csv, which a browser
    // sends cross-site only after a preflight that this server never grants.
    const loaded = await call(a, '/v1/blocklist', {
      method: 'POST',
      cert: operatorCert,
      headers: { 'content-type': 'text/csv' },
      body: csv(own),
    });
    expect(loaded.status).toBe(200);
    expect(loaded.json).toMatchObject({ rowsLoaded: 1 });
    await within(10_000, 'the loaded row on b', async () => {
      const device = await call(b, `/v1/devices/${own}`, { token: admin });
      return device.json['status'] === 'blocked';
    });
    expect((await call(b, `/v1/devices/${planted}`, { token: admin })).json['blocked']).toBeNull();
    expect((await call(a, `/v1/devices/${planted}`, { token: admin })).json['blocked']).toBeNull();
  });

  it('an upload streamed past the limit is refused with 413 before it is all sent; no partial file is left; the attempt is audited', async () => {
    const loader = await token('doors.loader', 'operator');
    const row = Buffer.from(`${imei(APPLE, 903)},stolen\n`.repeat(512));
    const total = 16 * 1024 * 1024;
    const answer = await call(a, '/v1/blocklist', {
      method: 'POST',
      token: loader,
      headers: { 'content-type': 'text/csv', 'x-basis': 'letter 2026/5' },
      body: { chunk: Buffer.concat([Buffer.from('imei,reason\n'), row]), total },
    });
    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.json).toMatchObject({
      type: 'https://imeiflow.kz/problems/payload-too-large',
      limit: UPLOAD_LIMIT,
    });
    // Refused while streaming: the answer came long before the 16 MiB were sent.
    expect(answer.sentWhenAnswered).toBeLessThan(total / 2);
    const uploads = join(rig.dataDir('a'), 'uploads');
    expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([]);
    const entries = await within(
      10_000,
      'the refusal in the audit trail',
      async () => (await auditOf(b, 'action=load.blocklist.refused')).length > 0,
    ).then(() => auditOf(b, 'action=load.blocklist.refused'));
    expect(entries).toEqual([
      expect.objectContaining({
        actor: 'doors.loader',
        role: 'operator',
        basis: 'letter 2026/5',
        target: expect.stringMatching(/^\d+ bytes received; over http\.maxUploadBytes 65536$/),
      }),
    ]);
    // Nothing of it was loaded anywhere.
    expect((await call(b, `/v1/devices/${imei(APPLE, 903)}`, { token: admin })).json['blocked']).toBeNull();
  });

  it(`refusals are audited and counted; an account refused ${REFUSAL_LIMIT} times is blocked on every instance until unblocked`, async () => {
    const nosy = await token('doors.nosy', 'sre');
    const device = `/v1/devices/${imei(APPLE, 42)}`;
    expect((await call(b, device, { token: nosy })).status).toBe(200);
    const forbiddenBefore = await metric(a, 'imeiflow_access_refusals_total{reason="forbidden"}');
    for (const path of ['/v1/audit', '/v1/reviews', `${device}?include=personal`]) {
      const refused = await call(a, path, { token: nosy, headers: { 'x-basis': 'looking around' } });
      expect(refused.status, path).toBe(403);
    }
    // Blocked at once, for what the role allows too, on the other instance as well.
    const blockedAfterMs = await within(10_000, 'the block on b', async () => {
      const answer = await call(b, device, { token: nosy });
      return answer.status === 401 && answer.json['type'] === 'https://imeiflow.kz/problems/account-blocked';
    });
    expect((await call(a, device, { token: nosy })).json).toMatchObject({
      type: 'https://imeiflow.kz/problems/account-blocked',
    });
    expect(await metric(a, 'imeiflow_access_refusals_total{reason="forbidden"}')).toBe(forbiddenBefore + 3);
    expect(await metric(a, 'imeiflow_accounts_blocked_total')).toBe(1);
    expect(await metric(b, 'imeiflow_access_refusals_total{reason="blocked"}')).toBeGreaterThanOrEqual(1);

    // The cluster's trail, read through the other instance.
    await within(
      10_000,
      'the block in the audit trail',
      async () => (await auditOf(b, 'action=token.block')).length > 0,
    );
    // Three on a; then b, which had not refused the account before, audits its first refusal
    // of the blocked account.
    const trail = await auditOf(b, 'actor=doors.nosy');
    expect(trail.map((e) => e['action'])).toEqual([
      'access.forbidden',
      'access.forbidden',
      'access.forbidden',
      'access.refused',
    ]);
    expect(trail[3]!['target']).toMatch(/^GET \/v1\/devices\/:imei from 127\.0\.0\.1 \(blocked: /);
    expect(await auditOf(b, 'action=token.block')).toEqual([
      expect.objectContaining({ actor: 'imeiflow', target: 'doors.nosy' }),
    ]);
    // A token that names nobody is held against the client's address.
    expect((await call(a, device, { token: 'ifl_guessed', localAddress: '127.0.0.7' })).status).toBe(401);
    await within(10_000, 'the unknown token in the audit trail', async () =>
      (await auditOf(b, 'actor=address:127.0.0.7')).some(
        (e) =>
          e['action'] === 'access.refused' &&
          e['target']!.startsWith('GET /v1/devices/:imei from 127.0.0.7 (unknown:'),
      ),
    );

    const listed = clusterCli(rig, 'token', 'list');
    expect(listed.stdout).toMatch(/doors\.nosy\tsre\tblocked \(refused requests\)/);
    const unblock = clusterCli(rig, 'token', 'unblock', 'doors.nosy');
    expect(unblock.status, unblock.stderr).toBe(0);
    await within(10_000, 'the unblock on both', async () =>
      (await Promise.all([a, b].map((s) => call(s, device, { token: nosy })))).every((r) => r.status === 200),
    );
    const again = clusterCli(rig, 'token', 'unblock', 'doors.nosy');
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('doors.nosy is not blocked');
    await within(10_000, 'the unblock in the audit trail', async () =>
      (await auditOf(b, 'action=token.unblock')).some((e) => e['target'] === 'doors.nosy'),
    );
    process.stdout.write(
      `${JSON.stringify({ test: 'http-doors', block_on_other_instance_ms: blockedAfterMs })}\n`,
    );
  });

  it('GET /v1/info: version and readiness for anyone, brokers and topics for an authenticated caller', async () => {
    const anonymous = await call(a, '/v1/info');
    expect(anonymous.status).toBe(200);
    expect(Object.keys(anonymous.json).sort()).toEqual(['partitionsOwned', 'ready', 'version']);
    const known = await call(a, '/v1/info', { cert: operatorCert });
    expect(known.json).toMatchObject({ ready: true, brokers: rig.broker.bootstrap });
    expect(known.json['topics']).toMatchObject({ requests: rig.topics.requests });
  });

  it('the review page and the API docs run in Chromium under their Content-Security-Policy', async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) violations.push(message.text());
    });
    const base = `https://127.0.0.1:${a.port}`;
    const review = await page.goto(`${base}/review?lang=en`);
    expect(review?.headers()['content-security-policy']).toContain("script-src 'sha256-");
    // The inline script ran (its functions exist) and the inline style applied. (Expressions as
    // text: they run in the page, and this project's TypeScript has no DOM types.)
    expect(await page.evaluate('typeof refresh')).toBe('function');
    expect(await page.evaluate('getComputedStyle(document.body).maxWidth')).toBe('1280px');
    expect(violations).toEqual([]);
    // A script that is not the page's own does not run.
    await page.evaluate(`(() => {
      const injected = document.createElement('script');
      injected.textContent = 'window.injected = true';
      document.body.append(injected);
    })()`);
    expect(await page.evaluate('window.injected')).toBeUndefined();
    expect(violations.length).toBeGreaterThan(0);
    violations.length = 0;

    await page.goto(`${base}/docs`);
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 15_000 });
    expect(await page.textContent('.swagger-ui .info .title')).toContain('imeiflow control plane');
    expect(violations).toEqual([]);
  });
});
