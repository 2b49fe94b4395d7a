/**
 * Destruction on request across a cluster of two instances, and the service deciding correctly
 * afterwards (issue 13):
 *
 * - an owner (IIN) purged through one instance: their waiting request is answered `purged` and
 *   leaves the review table of both, their registry entries leave whichever instance owns the
 *   device, the БДИК topics get tombstones, their outcomes are destroyed (a re-sent request is
 *   no longer a duplicate); another owner's data is untouched;
 * - a device purged with the CLI on the cluster, an application through the other instance: the
 *   declarations leave both instances;
 * - afterwards new data is decided as new: a waiting request settles, KGD's new decision confirms
 *   a purged device again, a purged registration is no owner conflict any more;
 * - a partition whose owner goes away is restored on another instance without the purged
 *   registration (Kafka forgot it) but with the one beside it that was not purged; an instance
 *   rebuilt from Kafka holds no purged declaration, and KGD's decisions sent after the purge;
 * - the audit trail of both holds every purge, the owner named by pseudonym, never by IIN.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { harnessClusterKeyFile, type ServiceProcess } from '../../bench/lib/harness.js';
import { devicePartition } from '../../src/domain/device-partition.js';
import { luhnDigit } from '../../src/domain/imei.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { readClusterKeys } from '../../src/security/cluster-key.js';
import { subjectSecretsOfKeys } from '../../src/security/subject-secrets.js';
import { Pseudonyms } from '../../src/store/pseudonyms.js';
import { callService, clusterCli, ownedPartitions, startSpread, within } from '../support/cluster-clients.js';
import { useRig } from '../support/rig.js';

const rig = useRig({
  name: 'purge',
  stores: { a: async () => undefined, b: async () => undefined, c: async () => undefined },
  kafka: { collect: ['results', 'confirmations', 'revocations'] },
});
const { topics } = rig;
const PARTITIONS = 4;
const OWNER = '880101300123';
const OTHER = '990340005977';
const withLuhn = (body: string) => body + String(luhnDigit(body));
const device = (serial: number) => `35209900${String(serial).padStart(6, '0')}`;

// D6 and D7 share a partition: one is purged, the other is the control when it is restored.
const D1 = device(500011);
const D2 = device(500029);
const D3 = device(500037);
const D4 = device(500045);
const D5 = device(500052);
const D6 = device(500060);
const D7 = (() => {
  for (let serial = 500078; ; serial++)
    if (devicePartition(device(serial), PARTITIONS) === devicePartition(D6, PARTITIONS))
      return device(serial);
})();

async function destroyed(service: ServiceProcess, kind: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`imeiflow_retention_destroyed_total{kind="${kind}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

function request(requestId: string, body: string, ownerId: string) {
  return {
    requestId,
    imei: withLuhn(body),
    operator: 'kcell',
    channel: 'import',
    ownerId,
    msisdn: '+77011234567',
  };
}

const declarations = (rows: [string, string][]) =>
  `ID заявки,Код таможенной процедуры,IMEI\n${rows.map(([app, body]) => `${app},40,${withLuhn(body)}`).join('\n')}\n`;

describe('a purge through one instance destroys the data on every instance', () => {
  it('owner, device and application purges; the service decides correctly afterwards', async () => {
    const [a, b] = (await startSpread(rig, ['a', 'b'], PARTITIONS)) as [ServiceProcess, ServiceProcess];
    const created = clusterCli(rig, 'token', 'create', '--name', 'ops.admin', '--role', 'admin');
    expect(created.status, created.stderr).toBe(0);
    const admin = created.stdout.trim();
    await within(5_000, 'the token works on both', async () => {
      const [ra, rb] = await Promise.all([
        callService(a, '/v1/audit?limit=1', admin),
        callService(b, '/v1/audit?limit=1', admin),
      ]);
      return ra.status === 200 && rb.status === 200;
    });
    const ownerOf = async (body: string) =>
      (await ownedPartitions(a)).includes(devicePartition(body, PARTITIONS)) ? a : b;
    const deviceOn = async (service: ServiceProcess, body: string) =>
      (await callService(service, `/v1/devices/${withLuhn(body)}`, admin, { basis: 'purge test' })).json as {
        status: string;
        registry: { ownerId?: string } | null;
        declarations: { applicationId: string }[];
      };

    // ── before: data on both ─────────────────────────────────────────────────────────────
    const tac = readFileSync(join(PACKAGE_ROOT, 'config/samples/tac.csv'), 'utf8');
    expect(
      (await callService(a, '/v1/tac', admin, { method: 'POST', type: 'text/csv', body: tac })).status,
    ).toBe(200);
    const loaded = await callService(b, '/v1/declarations', admin, {
      method: 'POST',
      type: 'text/csv',
      body: declarations([
        ['KZ-P-1', D1],
        ['KZ-P-1', D2],
        ['KZ-P-2', D3],
        ['KZ-P-3', D6],
        ['KZ-P-3', D7],
      ]),
    });
    expect(loaded.json).toMatchObject({ rowsLoaded: 5 });
    await within(5_000, 'the declarations on both', async () =>
      (await Promise.all([deviceOn(a, D7), deviceOn(b, D7)])).every((d) => d.declarations.length === 1),
    );
    const sent: [string, string, string][] = [
      ['p-1', D1, OWNER],
      ['p-2', D4, OWNER],
      ['p-3', D5, OTHER],
      ['p-4', D3, OTHER],
      ['p-7', D6, OWNER],
      ['p-8', D7, OTHER],
    ];
    for (const [id, body, owner] of sent)
      rig.producer.sendJson(topics.requests, body, request(id, body, owner));
    await rig.producer.flush();
    const results = () =>
      rig.collector.json<{ requestId: string; outcome: string; reason: string | null }>(topics.results);
    const latest = (id: string) =>
      results()
        .filter((r) => r.requestId === id)
        .at(-1);
    await rig.collector.waitFor(
      () => sent.every(([id]) => latest(id) !== undefined),
      30_000,
      'every request decided',
    );
    expect(['p-1', 'p-4', 'p-7', 'p-8'].map((id) => latest(id)?.outcome)).toEqual([
      'confirmed',
      'confirmed',
      'confirmed',
      'confirmed',
    ]);
    expect(latest('p-2')).toMatchObject({ outcome: 'pending' });
    expect(latest('p-3')).toMatchObject({ outcome: 'pending' });
    const waitingOn = async (service: ServiceProcess) =>
      (
        (await callService(service, '/v1/reviews?stage=all', admin)).json['items'] as { requestId: string }[]
      ).map((i) => i.requestId);
    await within(5_000, 'both see both waiting requests', async () =>
      (await Promise.all([waitingOn(a), waitingOn(b)])).every((w) => w.includes('p-2') && w.includes('p-3')),
    );
    expect((await deviceOn(await ownerOf(D1), D1)).registry?.ownerId).toBe(OWNER);

    // ── an owner, through b ──────────────────────────────────────────────────────────────
    const byOwner = await callService(b, '/v1/purge', admin, {
      method: 'POST',
      type: 'application/json',
      body: JSON.stringify({ iin: OWNER }),
      basis: 'court order 2/118',
    });
    expect(byOwner.status, JSON.stringify(byOwner.json)).toBe(202);
    await rig.collector.waitFor(
      () => latest('p-2')?.reason === 'purged',
      30_000,
      'the waiting request purged',
    );
    expect(latest('p-2')).toMatchObject({ outcome: 'rejected', reason: 'purged' });
    const tombstoned = (topic: string, body: string) =>
      rig.collector.of(topic).some((m) => m.key === withLuhn(body) && m.value === null);
    await rig.collector.waitFor(
      () =>
        [D1, D6].every(
          (body) => tombstoned(topics.confirmations, body) && tombstoned(topics.revocations, body),
        ),
      30_000,
      "the owner's БДИК records tombstoned",
    );
    // БДИК was told nothing to withdraw: no revocation with a value.
    expect(rig.collector.of(topics.revocations).filter((m) => m.value !== null)).toEqual([]);
    await within(10_000, 'the registrations gone from their owners', async () => {
      const [d1, d6] = await Promise.all([deviceOn(await ownerOf(D1), D1), deviceOn(await ownerOf(D6), D6)]);
      return d1.registry === null && d6.registry === null;
    });
    // The other owner's registration beside it, and their waiting request, stay.
    expect((await deviceOn(await ownerOf(D7), D7)).registry?.ownerId).toBe(OTHER);
    await within(5_000, 'the purged request gone from both review tables, the other there', async () =>
      (await Promise.all([waitingOn(a), waitingOn(b)])).every((w) => !w.includes('p-2') && w.includes('p-3')),
    );
    expect(latest('p-3')).toMatchObject({ outcome: 'pending' });
    await within(10_000, "the owner's outcomes destroyed", async () => {
      const [da, db] = await Promise.all([destroyed(a, 'outcome'), destroyed(b, 'outcome')]);
      return da + db >= 2;
    });
    expect((await destroyed(a, 'registry')) + (await destroyed(b, 'registry'))).toBe(2);

    // ── a device, with the CLI on the cluster ─────────────────────────────────────────────
    const byDevice = clusterCli(rig, 'purge', '--imei', withLuhn(D3), '--basis', 'subscriber request 17');
    expect(byDevice.status, byDevice.stderr).toBe(0);
    await within(10_000, 'the device gone: registry on its owner, declarations on both', async () => {
      const [own, onA, onB] = await Promise.all([
        deviceOn(await ownerOf(D3), D3),
        deviceOn(a, D3),
        deviceOn(b, D3),
      ]);
      return own.registry === null && onA.declarations.length === 0 && onB.declarations.length === 0;
    });
    await rig.collector.waitFor(
      () => tombstoned(topics.confirmations, D3) && tombstoned(topics.revocations, D3),
      10_000,
      "the device's БДИК records tombstoned",
    );

    // ── an application, through a ─────────────────────────────────────────────────────────
    const byApplication = await callService(a, '/v1/purge', admin, {
      method: 'POST',
      type: 'application/json',
      body: JSON.stringify({ application: 'KZ-P-1' }),
      basis: 'KGD letter 4411',
    });
    expect(byApplication.status).toBe(202);
    await within(10_000, "the application's declarations gone from both", async () => {
      const views = await Promise.all([deviceOn(a, D1), deviceOn(b, D1), deviceOn(a, D2), deviceOn(b, D2)]);
      return views.every((v) => v.declarations.length === 0);
    });

    // ── afterwards: new data is decided as new ────────────────────────────────────────────
    // p-1 again: its outcome was destroyed, so it is no duplicate; its evidence is gone, so it waits.
    rig.producer.sendJson(topics.requests, D1, request('p-1', D1, OWNER));
    rig.producer.sendJson(topics.requests, D2, request('p-5', D2, OTHER));
    // The purged registration of D3 is no owner conflict for another owner.
    rig.producer.sendJson(topics.requests, D3, request('p-6', D3, OWNER));
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => ['p-1', 'p-5', 'p-6'].every((id) => latest(id)?.outcome === 'pending'),
      30_000,
      'the new requests wait for evidence',
    );
    expect(
      results()
        .filter((r) => r.requestId === 'p-1')
        .map((r) => r.outcome),
    ).toEqual(['confirmed', 'pending']);
    // KGD decides again after the purge (new data): the waiting requests settle, D1 is confirmed again.
    const again = await callService(a, '/v1/declarations', admin, {
      method: 'POST',
      type: 'text/csv',
      body: declarations([
        ['KZ-P-1', D1],
        ['KZ-P-1', D2],
        ['KZ-P-4', D5],
      ]),
    });
    expect(again.json).toMatchObject({ rowsLoaded: 3 });
    await rig.collector.waitFor(
      () => ['p-1', 'p-3', 'p-5'].every((id) => latest(id)?.outcome === 'confirmed'),
      30_000,
      'the waiting requests confirmed by the new decisions',
    );
    expect(latest('p-6')).toMatchObject({ outcome: 'pending' });
    const d1 = rig.collector.of(topics.confirmations).filter((m) => m.key === withLuhn(D1));
    expect(d1.map((m) => (m.value === null ? 'tombstone' : 'confirmation'))).toEqual([
      'confirmation',
      'tombstone',
      'confirmation',
    ]);

    // ── one audit trail with every purge ──────────────────────────────────────────────────
    const purges = async (service: ServiceProcess) =>
      (
        (await callService(service, '/v1/audit?limit=1000', admin)).json['entries'] as {
          action: string;
          target: string;
          basis: string;
        }[]
      )
        .filter((e) => e.action.startsWith('purge.'))
        .map((e) => `${e.action} ${e.target} (${e.basis})`);
    const ownerPseudonyms = new Pseudonyms(
      subjectSecretsOfKeys(readClusterKeys(harnessClusterKeyFile())).pseudonym,
    ).all(OWNER);
    expect(ownerPseudonyms.join(' ')).not.toContain(OWNER);
    const expected = [
      // The owner by keyed pseudonym, one per cluster key listed: the trail keeps no IIN (issue 22).
      `purge.iin ${ownerPseudonyms.join(' ')} (court order 2/118)`,
      `purge.imei ${withLuhn(D3)} (subscriber request 17)`,
      'purge.application KZ-P-1 (KGD letter 4411)',
    ];
    await within(5_000, 'both trails hold the purges', async () =>
      (await Promise.all([purges(a), purges(b)])).every(
        (p) => JSON.stringify(p) === JSON.stringify(expected),
      ),
    );

    // ── a partition restored elsewhere does not bring the purged registration back ───────
    const leaving = await ownerOf(D6);
    const staying = leaving === a ? b : a;
    await leaving.kill('SIGTERM');
    const c = await rig.startService('c');
    await c.waitReady(120_000);
    const partition = devicePartition(D6, PARTITIONS);
    let restoredOn: ServiceProcess | undefined;
    await within(60_000, "D6's partition recovered by another instance", async () => {
      for (const service of [staying, c])
        if ((await ownedPartitions(service)).includes(partition)) restoredOn = service;
      return restoredOn !== undefined;
    });
    const [d6, d7] = await Promise.all([deviceOn(restoredOn!, D6), deviceOn(restoredOn!, D7)]);
    expect(d7.registry?.ownerId).toBe(OTHER);
    expect(d6.registry).toBeNull();
    // The rebuilt instance read the purges before the decisions they removed: KZ-P-1 as KGD sent
    // it again after the purge, and nothing of the purged device.
    const rebuilt = async (body: string) =>
      (await deviceOn(c, body)).declarations.map((d) => d.applicationId);
    expect([await rebuilt(D1), await rebuilt(D2), await rebuilt(D3)]).toEqual([['KZ-P-1'], ['KZ-P-1'], []]);
  });
});
