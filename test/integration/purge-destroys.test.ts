/**
 * Destruction that destroys (issue 22, point 3), through the real service: two instances on the
 * embedded cluster, four partitions. An owner registers a device (through the repartition topic:
 * the request arrives on another partition than its device's) and waits for KGD with another one;
 * a second owner registers a device beside them. Both instances read the registrations and the
 * waiting request (registry, registry view, review table). Then the first owner is purged by IIN
 * and the sweep runs.
 *
 * Afterwards no file of either data directory holds the purged owner's IIN or phone, free pages
 * included — a plain read of every file, searched for the bytes as ASCII/UTF-8 (what msgpack and
 * JSON store) and as UTF-16 — and no internal topic (journal, pending changelog, repartition,
 * commands, audit) holds either in clear, read back with kcat. The other owner's registration is
 * still read whole: nothing was wiped wholesale.
 *
 * Red first: on the code before it, the IIN was in `audit.jsonl` and `imeiflow.lmdb` (the purge's
 * own audit entry and mark, free pages) and the IIN and phone on the journal, the pending
 * changelog, the repartition topic and the audit topic.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { harnessClusterKeyFile, type ServiceProcess } from '../../bench/lib/harness.js';
import { devicePartition } from '../../src/domain/device-partition.js';
import { luhnDigit } from '../../src/domain/imei.js';
import { readClusterKeys } from '../../src/security/cluster-key.js';
import { subjectSecretsOfKeys } from '../../src/security/subject-secrets.js';
import { openStore } from '../../src/store/store.js';
import { callService, clusterCli, ownedPartitions, startSpread, within } from '../support/cluster-clients.js';
import { seeded, useRig } from '../support/rig.js';

const rig = useRig({
  name: 'purge-bytes',
  tools: ['kcat'],
  stores: { a: seeded(), b: seeded() },
  kafka: { collect: ['results'] },
});
const { topics } = rig;
const PARTITIONS = 4;

const SUBJECT = '900215400559';
const SUBJECT_PHONE = '+77015550123';
const OTHER = '850712300770';
const OTHER_PHONE = '+77057770456';
/** Both released under KZ-2025-000042 in the sample declarations the stores are seeded with. */
const REGISTERED = '35209900176148';
const BESIDE = '35209900176149';
/** Known TAC, no declaration: waits for KGD. */
const WAITING = '35209900500011';
const withLuhn = (body: string) => body + String(luhnDigit(body));

/** The byte patterns a stored IIN or phone could take. */
function patterns(text: string): { name: string; bytes: Buffer }[] {
  return [
    { name: `"${text}" as UTF-8`, bytes: Buffer.from(text, 'utf8') },
    { name: `"${text}" as UTF-16LE`, bytes: Buffer.from(text, 'utf16le') },
    ...(text.startsWith('+')
      ? [{ name: `"${text.slice(1)}" as UTF-8`, bytes: Buffer.from(text.slice(1)) }]
      : []),
  ];
}

const PURGED = [...patterns(SUBJECT), ...patterns(SUBJECT_PHONE)];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : [];
  });
}

/** Every place a purged pattern occurs in `bytes`, as `<where> offset N: <pattern>`. */
function occurrences(where: string, bytes: Buffer): string[] {
  const found: string[] = [];
  for (const { name, bytes: pattern } of PURGED) {
    for (let at = bytes.indexOf(pattern); at !== -1; at = bytes.indexOf(pattern, at + 1))
      found.push(`${where} offset ${at}: ${name}`);
  }
  return found;
}

/** Every key and value of a topic, all partitions, as raw bytes (kcat: no decoding). */
function topicBytes(topic: string): Buffer {
  return execFileSync(
    'kcat',
    ['-b', rig.broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k%s'],
    { maxBuffer: 256 * 1024 * 1024 },
  );
}

function request(requestId: string, body: string, ownerId: string, msisdn: string) {
  return { requestId, imei: withLuhn(body), operator: 'kcell', channel: 'import', ownerId, msisdn };
}

async function destroyed(service: ServiceProcess, kind: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`imeiflow_retention_destroyed_total{kind="${kind}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('a purge by IIN leaves no byte of the owner in the data directories or internal topics', () => {
  it('registers, purges, sweeps; then searches every file and every internal topic', async () => {
    const [a, b] = (await startSpread(rig, ['a', 'b'], PARTITIONS)) as [ServiceProcess, ServiceProcess];
    const created = clusterCli(rig, 'token', 'create', '--name', 'dpo.admin', '--role', 'admin');
    expect(created.status, created.stderr).toBe(0);
    const admin = created.stdout.trim();
    await within(5_000, 'the token works on both', async () =>
      (await Promise.all([a, b].map((s) => callService(s, '/v1/audit?limit=1', admin)))).every(
        (r) => r.status === 200,
      ),
    );
    const deviceOn = async (service: ServiceProcess, body: string) =>
      (await callService(service, `/v1/devices/${withLuhn(body)}`, admin, { basis: 'DPO check 7' })).json as {
        registry: { ownerId?: string | null; msisdn?: string | null } | null;
      };

    // The subject's registration arrives on a partition that is not its device's: it is re-keyed
    // through the repartition topic, owner and phone included.
    const elsewhere = (devicePartition(REGISTERED, PARTITIONS) + 1) % PARTITIONS;
    rig.producer.send(
      topics.requests,
      withLuhn(REGISTERED),
      JSON.stringify(request('s-1', REGISTERED, SUBJECT, SUBJECT_PHONE)),
      undefined,
      elsewhere,
    );
    rig.producer.sendJson(topics.requests, WAITING, request('s-2', WAITING, SUBJECT, SUBJECT_PHONE));
    rig.producer.sendJson(topics.requests, BESIDE, request('o-1', BESIDE, OTHER, OTHER_PHONE));
    await rig.producer.flush();
    const latest = (id: string) =>
      rig.collector
        .json<{ requestId: string; outcome: string; reason: string | null }>(topics.results)
        .filter((r) => r.requestId === id)
        .at(-1);
    await rig.collector.waitFor(
      () => ['s-1', 's-2', 'o-1'].every((id) => latest(id) !== undefined),
      30_000,
      'every request decided',
    );
    expect([latest('s-1')?.outcome, latest('s-2')?.outcome, latest('o-1')?.outcome]).toEqual([
      'confirmed',
      'pending',
      'confirmed',
    ]);
    // Both instances hold both registrations (their own registry or the view of the other's) and
    // the waiting request (the review table), owner and phone included.
    await within(10_000, 'both instances read the registrations with their owners', async () =>
      (await Promise.all([a, b].map((s) => deviceOn(s, REGISTERED)))).every(
        (d) => d.registry?.ownerId === SUBJECT && d.registry.msisdn === SUBJECT_PHONE,
      ),
    );
    for (const service of [a, b]) {
      const waiting = await callService(service, '/v1/reviews/s-2', admin, { basis: 'DPO check 7' });
      expect(waiting.json).toMatchObject({ ownerId: SUBJECT, msisdn: SUBJECT_PHONE });
    }

    // ── the purge, and the sweep after it ────────────────────────────────────────────────
    const purge = await callService(a, '/v1/purge', admin, {
      method: 'POST',
      type: 'application/json',
      body: JSON.stringify({ iin: SUBJECT }),
      basis: 'court order 3/221',
    });
    expect(purge.status, JSON.stringify(purge.json)).toBe(202);
    await rig.collector.waitFor(
      () => latest('s-2')?.reason === 'purged',
      30_000,
      'the waiting request purged',
    );
    await within(20_000, 'the registration gone on both, the other owner there', async () => {
      const [onA, onB, besideA, besideB] = await Promise.all([
        deviceOn(a, REGISTERED),
        deviceOn(b, REGISTERED),
        deviceOn(a, BESIDE),
        deviceOn(b, BESIDE),
      ]);
      return (
        onA.registry === null &&
        onB.registry === null &&
        [besideA, besideB].every((d) => d.registry?.ownerId === OTHER && d.registry.msisdn === OTHER_PHONE)
      );
    });
    const owner = (await ownedPartitions(a)).includes(devicePartition(REGISTERED, PARTITIONS)) ? a : b;
    await within(
      20_000,
      "the subject's outcome destroyed by the sweep",
      async () => (await destroyed(owner, 'outcome')) >= 1,
    );
    for (const service of [a, b]) {
      const gone = await callService(service, '/v1/reviews/s-2', admin, { basis: 'DPO check 7' });
      expect(gone.status).toBe(404);
    }
    // Stopped cleanly: every write flushed, the files closed.
    for (const service of [a, b]) await service.kill('SIGTERM');

    // ── the data directories: every file, byte by byte ───────────────────────────────────
    const files = [...filesUnder(rig.dataDir('a')), ...filesUnder(rig.dataDir('b'))];
    expect(files.some((f) => f.endsWith('imeiflow.lmdb'))).toBe(true);
    expect(files.some((f) => f.endsWith('audit.jsonl'))).toBe(true);
    const inFiles = files.flatMap((file) => occurrences(file, readFileSync(file)));

    // ── the internal topics, as Kafka holds them ─────────────────────────────────────────
    const internal = {
      journal: topics.journal,
      pendingChangelog: topics.pendingChangelog,
      repartition: topics.repartition,
      commands: topics.commands,
      audit: topics.audit,
    };
    const held = Object.entries(internal).map(([role, topic]) => ({ role, bytes: topicBytes(topic) }));
    // Not vacuous: each of these carried the subject's request or its consequences.
    for (const role of ['journal', 'pendingChangelog', 'repartition', 'audit'])
      expect(held.find((h) => h.role === role)?.bytes.length, role).toBeGreaterThan(0);
    const inTopics = held.flatMap(({ role, bytes }) => occurrences(role, bytes));
    expect({ inFiles, inTopics }).toEqual({ inFiles: [], inTopics: [] });

    // ── the keys: even with the cluster key, nothing of the subject opens any more ──────────
    // What the byte search cannot see: ciphertext whose key survived. Opened as the service opens
    // them, each store has no key left for the subject's devices and still one for the other owner.
    const secrets = subjectSecretsOfKeys(readClusterKeys(harnessClusterKeyFile()));
    const keysLeft = await Promise.all(
      ['a', 'b'].map(async (name) => {
        const store = openStore({ dataDir: rig.dataDir(name), secrets, readOnly: true });
        try {
          const subject = store.pseudonyms.current(SUBJECT);
          const other = store.pseudonyms.current(OTHER);
          return {
            subject: [REGISTERED, WAITING].filter(
              (body) => store.subjects.scopeKey(body, subject) !== undefined,
            ),
            other: store.subjects.scopeKey(BESIDE, other) !== undefined,
          };
        } finally {
          await store.close();
        }
      }),
    );
    expect(keysLeft).toEqual([
      { subject: [], other: true },
      { subject: [], other: true },
    ]);
  });
});
