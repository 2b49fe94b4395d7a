/**
 * Internal topics carry proof (issue 22, point 5), through the real service: two instances on the
 * embedded cluster, the CLI acting on it, and an attacker who can write its internal topics.
 *
 * - An admin token `create` written to imeiflow.tokens without a signature (kcat, as anyone with
 *   write access would) and one signed with another key (the test producer): neither token works
 *   on either instance; the DLQ gets each once, saying why; each instance counts them in
 *   imeiflow_internal_records_refused_total by reason (not as unreadable records).
 * - A purge order written to imeiflow.audit without a signature: neither instance carries it out
 *   (the device's declaration stays) nor records it in its trail; the same purge ordered with the
 *   CLI is carried out on both.
 * - Tokens created with the CLI work (their events signed with the cluster key the CLI reads).
 * - Key rotation: both instances restarted with a new key listed first and the old one below; a
 *   token created then is signed with the new key (its id in the header), the old token still
 *   works, and an instance rebuilt from the topics with the rotated file accepts both tokens and
 *   still refuses the forged ones.
 *
 * Red first: on the code before signing, the forged admin token worked on both instances (the
 * first test failed at its first check).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../../bench/lib/harness.js';
import { purgeAuditOf, purgeTargetOf } from '../../src/domain/retention.js';
import { PartitionReader } from '../../src/kafka/partition-reader.js';
import { headerOf, keyOf, type LogMessage } from '../../src/pipeline/kafka-port.js';
import { auditEntryOf } from '../../src/security/audit-log.js';
import { parseClusterKeys } from '../../src/security/cluster-key.js';
import { EventSigner, SIGNATURE_HEADER } from '../../src/security/signed-events.js';
import { tokenEventKey } from '../../src/security/token-events.js';
import { newToken } from '../../src/security/tokens.js';
import { callService, clusterCli, clusterCliWith, within } from '../support/cluster-clients.js';
import { seeded, useRig } from '../support/rig.js';

const rig = useRig({
  name: 'signed',
  tools: ['kcat'],
  stores: { a: seeded(), b: seeded(), c: seeded() },
  kafka: { collect: ['dlq'] },
});
const { topics } = rig;

/** Declared under KZ-2025-000042 in the sample declarations every store is seeded with. */
const DEVICE = '352099001761481';
const APPLICATION = 'KZ-2025-000042';
const ANOTHER_KEY = 'an-attackers-guess-of-the-key-0123456789abcdef';

interface DlqEntry {
  topic: string;
  partition: number;
  offset: number;
  error: string;
}

let a: ServiceProcess;
let b: ServiceProcess;
let admin: string;

async function metric(service: ServiceProcess, line: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.split(' ').at(-1));
}

const refused = (topic: string, reason: string) =>
  `imeiflow_internal_records_refused_total{topic="${topic}",reason="${reason}"}`;

/** Whether a token is let in: authenticated (200 for an admin, 403 for another role), not 401. */
async function works(service: ServiceProcess, token: string): Promise<boolean> {
  return (await callService(service, '/v1/audit?limit=1', token)).status !== 401;
}

function createToken(name: string, role: string, env: Record<string, string> = {}): string {
  const run = clusterCliWith(rig, env, 'token', 'create', '--name', name, '--role', role);
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.trim();
}

const dlqOf = (topic: string) => rig.collector.json<DlqEntry>(topics.dlq).filter((e) => e.topic === topic);

/** The tokens topic read back, as a reader with headers sees it. */
async function tokensTopic(): Promise<LogMessage[]> {
  const reader = await PartitionReader.connect(
    { bootstrapServers: rig.broker.bootstrap, clientId: 'signed-test' },
    `${rig.env['IMEIFLOW_KAFKA_GROUP']}.reader`,
  );
  const all: LogMessage[] = [];
  try {
    await reader.readToEnd(topics.tokens, 0, 0, async (batch) => void all.push(...batch));
  } finally {
    await reader.close();
  }
  return all;
}

const keyIdOfHeader = (m: LogMessage | undefined) =>
  /^v1\.([0-9a-f]{8})\./.exec(m === undefined ? '' : (headerOf(m, SIGNATURE_HEADER) ?? ''))?.[1];

beforeAll(async () => {
  a = await rig.startService('a');
  b = await rig.startService('b');
  await Promise.all([a.waitReady(), b.waitReady()]);
  admin = createToken('ops.admin', 'admin');
  await within(10_000, 'the CLI-made token works on both', async () =>
    (await Promise.all([works(a, admin), works(b, admin)])).every(Boolean),
  );
}, 180_000);

describe('a forged imeiflow.tokens event', () => {
  it('an admin token written without the cluster key works on neither instance; the DLQ gets each once; counted', async () => {
    // No signature at all, as `kcat -P` writes it.
    const unsigned = newToken('mallory', 'admin');
    execFileSync(
      'kcat',
      ['-P', '-b', rig.broker.bootstrap, '-t', topics.tokens, '-p', '0', '-k', tokenEventKey(unsigned.event)],
      { input: JSON.stringify(unsigned.event) },
    );
    // Signed, but with a key that is not the cluster's.
    const wrong = newToken('eve', 'admin');
    const value = Buffer.from(JSON.stringify(wrong.event));
    const signed = new EventSigner(parseClusterKeys(ANOTHER_KEY, 'guess')).sign('tokens', {
      topic: topics.tokens,
      partition: 0,
      key: tokenEventKey(wrong.event),
      value,
    });
    rig.producer.send(topics.tokens, tokenEventKey(wrong.event), value, signed.headers, 0);
    await rig.producer.flush();

    // A token made with the CLI after them: once it works, both tables have read past them.
    const after = createToken('after.forgery', 'sre');
    await within(10_000, 'the later CLI token works on both', async () =>
      (await Promise.all([works(a, after), works(b, after)])).every(Boolean),
    );
    for (const service of [a, b]) {
      expect(await works(service, unsigned.token), `unsigned admin on ${service.port}`).toBe(false);
      expect(await works(service, wrong.token), `wrongly signed admin on ${service.port}`).toBe(false);
      expect((await callService(service, '/v1/audit?limit=1', unsigned.token)).status).toBe(401);
    }

    await rig.collector.waitFor(() => dlqOf(topics.tokens).length >= 2, 30_000, 'two DLQ entries');
    await new Promise((r) => setTimeout(r, 3000));
    const dlq = dlqOf(topics.tokens);
    expect(dlq).toHaveLength(2);
    expect(new Set(dlq.map((e) => e.offset)).size).toBe(2);
    expect(dlq.map((e) => e.error).sort()).toEqual([
      expect.stringMatching(/^refused: no imeiflow-signature header/),
      expect.stringMatching(/^refused: signed with key [0-9a-f]{8}, which .* does not list/),
    ]);
    for (const service of [a, b]) {
      expect(await metric(service, refused(topics.tokens, 'unsigned'))).toBe(1);
      expect(await metric(service, refused(topics.tokens, 'bad-signature'))).toBe(1);
      expect(await metric(service, `imeiflow_internal_records_skipped_total{topic="${topics.tokens}"}`)).toBe(
        0,
      );
      expect(
        service.output.some((l) => l.includes("an internal event without the cluster key's signature")),
      ).toBe(true);
    }
  });
});

describe('a forged purge order on imeiflow.audit', () => {
  const deviceOn = async (service: ServiceProcess) =>
    (await callService(service, `/v1/devices/${DEVICE}`, admin, { basis: 'signed-events test' })).json as {
      declarations: { applicationId: string }[] | null;
    };
  const purges = async (service: ServiceProcess) =>
    (
      (await callService(service, '/v1/audit?action=purge.application&limit=10', admin)).json as {
        entries?: unknown[];
      }
    ).entries ?? [];

  it('is not carried out on either instance; the same purge ordered with the CLI is', async () => {
    for (const service of [a, b]) expect((await deviceOn(service)).declarations).toHaveLength(1);
    const parsed = purgeTargetOf('application', APPLICATION, () => []);
    if (!parsed.ok) throw new Error(parsed.error);
    const { action, target } = purgeAuditOf(parsed.target);
    const order = auditEntryOf({
      actor: 'cli:root',
      role: 'admin',
      action,
      basis: 'court order 2/118',
      target,
    });
    rig.producer.send(topics.audit, order.actor, JSON.stringify(order), [], 0);
    await rig.producer.flush();

    // A CLI action after it is audited: once both trails hold it, both read past the forged order.
    createToken('after.purge', 'sre');
    await within(10_000, 'the later audit entry on both', async () => {
      const trails = await Promise.all(
        [a, b].map(async (s) =>
          JSON.stringify((await callService(s, '/v1/audit?action=token.create&limit=50', admin)).json),
        ),
      );
      return trails.every((t) => t.includes('after.purge'));
    });
    await new Promise((r) => setTimeout(r, 1000));
    for (const service of [a, b]) {
      expect((await deviceOn(service)).declarations, `declaration on ${service.port}`).toHaveLength(1);
      expect(await purges(service)).toEqual([]);
      expect(await metric(service, refused(topics.audit, 'unsigned'))).toBe(1);
    }
    await rig.collector.waitFor(() => dlqOf(topics.audit).length >= 1, 30_000, 'the DLQ entry');
    expect(dlqOf(topics.audit)).toHaveLength(1);

    // Ordered by someone who holds the key (the CLI on the cluster): carried out on both.
    const purge = clusterCli(rig, 'purge', '--application', APPLICATION, '--basis', 'court order 2/118');
    expect(purge.status, purge.stderr).toBe(0);
    await within(15_000, 'the declaration gone from both', async () =>
      (await Promise.all([deviceOn(a), deviceOn(b)])).every((d) => d.declarations?.length === 0),
    );
    for (const service of [a, b]) expect(await purges(service)).toHaveLength(1);
  });
});

describe('key rotation', () => {
  it('new events are signed with the new key; events the old key signed still verify, also on an instance rebuilt from the topics', async () => {
    const harnessKeys = rig.env['IMEIFLOW_CLUSTER_KEY_FILE']!;
    const oldId = parseClusterKeys(readFileSync(harnessKeys, 'utf8'), harnessKeys).signing.id;
    const rotatedFile = join(rig.root, 'rotated.key');
    const newKey = 'the-new-cluster-key-after-rotation-0123456789';
    writeFileSync(rotatedFile, `${newKey}\n${readFileSync(harnessKeys, 'utf8')}`, { mode: 0o600 });
    const newId = parseClusterKeys(newKey, 'new').signing.id;
    const rotated = { IMEIFLOW_CLUSTER_KEY_FILE: rotatedFile };

    await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')]);
    a = await rig.startService('a', { env: rotated });
    b = await rig.startService('b', { env: rotated });
    await Promise.all([a.waitReady(), b.waitReady()]);
    const fresh = createToken('after.rotation', 'admin', rotated);
    await within(10_000, 'the new token works on both', async () =>
      (await Promise.all([works(a, fresh), works(b, fresh)])).every(Boolean),
    );
    for (const service of [a, b]) expect(await works(service, admin)).toBe(true);

    const log = await tokensTopic();
    const created = (name: string) => log.find((m) => keyOf(m) === `create/${name}`);
    expect(keyIdOfHeader(created('ops.admin'))).toBe(oldId);
    expect(keyIdOfHeader(created('after.rotation'))).toBe(newId);

    // An instance with an empty store reads every event again: the old key's and the new key's apply.
    const c = await rig.startService('c', { env: rotated });
    await c.waitReady();
    await within(20_000, 'both tokens work on the rebuilt instance', async () =>
      (await Promise.all([works(c, admin), works(c, fresh)])).every(Boolean),
    );
    expect(await metric(c, refused(topics.tokens, 'unsigned'))).toBe(1);
    expect(await metric(c, refused(topics.tokens, 'bad-signature'))).toBe(1);
    // Nothing the cluster signed went to the DLQ, before the rotation or after.
    await new Promise((r) => setTimeout(r, 2000));
    expect(dlqOf(topics.tokens)).toHaveLength(2);
  });
});
