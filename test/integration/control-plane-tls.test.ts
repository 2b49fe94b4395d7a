/**
 * The control plane over HTTPS with client certificates (mutual TLS), on a real socket with
 * certificates made by openssl in the test: HTTPS answers; a certificate whose subject carries a
 * configured IIN acts with that person's role; one with an unknown IIN, no IIN or another CA is
 * refused with problem+json; a bearer token still works; the open endpoints need neither.
 */

import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { buildControlPlane } from '../../src/http/app.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { AuditLog } from '../../src/security/audit-log.js';
import { TokenService } from '../../src/security/tokens.js';
import { openStore, type Store } from '../../src/store/store.js';
import {
  CLIENT_EXTENSIONS,
  makeCa,
  makeSigned,
  type Pair,
  SERVER_EXTENSIONS,
} from '../support/certificates.js';
import { seedStore } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';
import { requireTools } from '../support/tools.js';

const dir = tempDir();
const dataDir = join(dir, 'data');
const REVIEWER_IIN = '880101300123';
let store: Store;
let audit: AuditLog;
let app: FastifyInstance;
let port: number;
let token: string;
let ca: Pair;
const clients: Record<'reviewer' | 'unknown' | 'noIin' | 'foreign', Pair> = {} as never;

beforeAll(async () => {
  requireTools('openssl');
  ca = makeCa(dir, 'test-ca');
  const server = makeSigned(dir, 'server', '/CN=localhost', ca, SERVER_EXTENSIONS);
  clients.reviewer = makeSigned(
    dir,
    'reviewer',
    `/CN=NURLANOVA AIGUL/serialNumber=IIN${REVIEWER_IIN}/C=KZ`,
    ca,
    CLIENT_EXTENSIONS,
  );
  clients.unknown = makeSigned(
    dir,
    'unknown',
    '/CN=STRANGER/serialNumber=IIN990340005977/C=KZ',
    ca,
    CLIENT_EXTENSIONS,
  );
  clients.noIin = makeSigned(dir, 'no-iin', '/CN=robot/C=KZ', ca, CLIENT_EXTENSIONS);
  const otherCa = makeCa(dir, 'other-ca');
  clients.foreign = makeSigned(
    dir,
    'foreign',
    `/CN=NURLANOVA AIGUL/serialNumber=IIN${REVIEWER_IIN}/C=KZ`,
    otherCa,
    CLIENT_EXTENSIONS,
  );

  await seedStore(dataDir);
  store = openStore({ dataDir });
  audit = new AuditLog(store, dataDir);
  const tokens = new TokenService(store, 60);
  token = await tokens.create('batch-loader', 'admin');
  const config = loadConfig({
    env: {
      IMEIFLOW_DATA_DIR: dataDir,
      IMEIFLOW_HTTP_TLS_CERT_FILE: server.cert,
      IMEIFLOW_HTTP_TLS_KEY_FILE: server.key,
      IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE: ca.cert,
    },
    overrides: {
      http: { tls: { clientCertificates: [{ iin: REVIEWER_IIN, name: 'a.nurlanova', role: 'reviewer' }] } },
    },
  });
  app = await buildControlPlane({
    config,
    log: createLogger('silent'),
    store,
    tokens,
    audit,
    metrics: new Metrics({ defaultMetrics: false }),
    info: { version: 'test', embeddedKafka: true, brokers: 'none', topics: {}, partitions: 1, workers: 1 },
    notReadyReason: () => null,
    ownedPartitions: () => [0],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app?.close();
  await audit?.close();
  await store?.close();
});

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: Record<string, unknown>;
}

function get(path: string, client?: Pair, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port,
        path,
        headers,
        ca: readFileSync(ca.cert),
        ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) }),
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
            type: String(res.headers['content-type'] ?? ''),
            body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const refused = (answer: Answer) => {
  expect(answer.status).toBe(401);
  expect(answer.type).toContain('application/problem+json');
  expect(answer.body['type']).toBe('https://imeiflow.kz/problems/certificate-refused');
};

describe('control plane over HTTPS with client certificates', () => {
  it('speaks HTTPS (and not plain HTTP); the open endpoints need no certificate', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/v1/info']) {
      expect((await get(path)).status, path).toBe(200);
    }
    const plain = await new Promise<number | string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/healthz' }, (res) =>
        resolve(res.statusCode ?? 0),
      );
      req.on('error', (error) => resolve(error.message));
      req.end();
    });
    expect(plain).not.toBe(200);
  });

  it('a certificate with a configured IIN acts with that person’s role, and is audited by name', async () => {
    expect((await get('/v1/reviews', clients.reviewer)).status).toBe(200);
    // The role is the configured one: a reviewer may not read the audit trail.
    const forbidden = await get('/v1/audit', clients.reviewer);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body['type']).toBe('https://imeiflow.kz/problems/forbidden');
    const before = audit.query({ limit: 10_000 }).length;
    const read = await get('/v1/devices/352099001761481', clients.reviewer, { 'x-basis': 'case 2026/5' });
    expect(read.status).toBe(200);
    expect(read.body['personalData']).toBe(true);
    expect(audit.query({ limit: 10_000 }).slice(before)).toEqual([
      expect.objectContaining({ actor: 'a.nurlanova', role: 'reviewer', action: 'device.read-personal' }),
    ]);
  });

  it('refuses an unknown IIN, a certificate without one, and one from another CA — even with a valid token', async () => {
    refused(await get('/v1/reviews', clients.unknown));
    refused(await get('/v1/reviews', clients.noIin));
    refused(await get('/v1/reviews', clients.foreign));
    // A presented certificate decides: a bad one is not passed over for the token beside it.
    refused(await get('/v1/audit', clients.unknown, { authorization: `Bearer ${token}` }));
    // The open endpoints stay open whatever certificate comes.
    expect((await get('/healthz', clients.foreign)).status).toBe(200);
  });

  it('a bearer token without a certificate still works', async () => {
    const answer = await get('/v1/audit?limit=1', undefined, { authorization: `Bearer ${token}` });
    expect(answer.status).toBe(200);
    expect((await get('/v1/audit')).status).toBe(401);
  });
});
