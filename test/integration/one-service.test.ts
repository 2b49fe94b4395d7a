/**
 * Two instances in one group, started on empty data directories, are one service (issue 12):
 * everything users see or load goes through Kafka, and every decision about a device is made by
 * the one owner of its partition.
 *
 * - a token created with the CLI on the cluster works on both; revoked, both refuse it;
 * - the TAC table, declarations and block list uploaded to one instance decide on the other;
 * - one device sent under several keys and IMEI forms, by one owner and by another, gives one
 *   БДИК confirmation and one owner_conflict review, whichever instances own the partitions;
 * - a KGD file uploaded to one instance settles a request already waiting on the other;
 * - a reviewer on either instance sees every waiting request and decides one owned by the other;
 * - the audit trail is the same on both;
 * - an instance restarted on an empty data directory rebuilds it all from Kafka.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../../bench/lib/harness.js';
import { devicePartition } from '../../src/domain/device-partition.js';
import { luhnDigit } from '../../src/domain/imei.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { callService, clusterCli, ownedPartitions, startSpread, within } from '../support/cluster-clients.js';
import { useRig } from '../support/rig.js';

const rig = useRig({
  name: 'one-service',
  stores: { a: async () => undefined, b: async () => undefined, c: async () => undefined },
  kafka: { collect: ['results', 'confirmations'] },
});
const { topics } = rig;
const PARTITIONS = 4;
const OWNER = '880101300123';
const OTHER_OWNER = '990340005977';
const samples = (file: string) => join(PACKAGE_ROOT, 'config/samples', file);
const withLuhn = (body: string) => body + String(luhnDigit(body));

function request(requestId: string, imei: string, ownerId: string) {
  return { requestId, imei, operator: 'kcell', channel: 'import', ownerId, msisdn: '+77011234567' };
}

describe('two instances are one service', () => {
  it('shares tokens, loads, reviews and the audit trail, and decides each device in one place', async () => {
    const [a, b] = (await startSpread(rig, ['a', 'b'], PARTITIONS)) as [ServiceProcess, ServiceProcess];

    // ── tokens ────────────────────────────────────────────────────────────────────────────
    const created = clusterCli(rig, 'token', 'create', '--name', 'ops.admin', '--role', 'admin');
    expect(created.status, created.stderr).toBe(0);
    const admin = created.stdout.trim();
    const tokenDelay = await within(5_000, 'the new token works on both', async () => {
      const [ra, rb] = await Promise.all([
        callService(a, '/v1/audit?limit=1', admin),
        callService(b, '/v1/audit?limit=1', admin),
      ]);
      return ra.status === 200 && rb.status === 200;
    });
    const reviewer = clusterCli(
      rig,
      'token',
      'create',
      '--name',
      'a.nurlanova',
      '--role',
      'reviewer',
    ).stdout.trim();

    // ── loads through one instance decide on the other ───────────────────────────────────
    const tacFile = readFileSync(samples('tac.csv'), 'utf8');
    const tacLoad = await callService(a, '/v1/tac', admin, {
      method: 'POST',
      type: 'text/csv',
      body: tacFile,
    });
    expect(tacLoad.status).toBe(200);
    const tacRows = tacFile.trim().split('\n').length - 1;
    expect(tacLoad.json).toMatchObject({ rowsLoaded: tacRows, rowsRejected: 0 });
    const blockLoad = await callService(b, '/v1/blocklist', admin, {
      method: 'POST',
      type: 'text/csv',
      body: 'imei,reason,source,since\n356865110000011,reported stolen,kcell,2026-10-01\n',
    });
    expect(blockLoad.json).toMatchObject({ rowsLoaded: 1 });

    // ── one device under several keys and forms ───────────────────────────────────────────
    // A device declared by a KGD file uploaded to one instance.
    const device = '35209900176148';
    const imei15 = withLuhn(device);
    const declarations = await callService(b, '/v1/declarations', admin, {
      method: 'POST',
      type: 'text/csv',
      body: `ID заявки,Код таможенной процедуры,IMEI\nKZ-ONE-1,ИМ 40 00 000,${imei15}\n`,
    });
    expect(declarations.json).toMatchObject({ rowsLoaded: 1, rowsRejected: 0 });
    // An answer means Kafka has the rows; each instance applies them after. Requests are sent once
    // both have the TAC, the block list and the declaration (a fixed wait lost that race on a
    // loaded machine).
    const applied = async (service: ServiceProcess) => {
      const [declared, blocked] = await Promise.all([
        callService(service, `/v1/devices/${imei15}`, admin),
        callService(service, '/v1/devices/356865110000011', admin),
      ]);
      return (
        declared.json['tac'] !== null &&
        (declared.json['declarations'] as unknown[]).length > 0 &&
        blocked.json['tac'] !== null &&
        blocked.json['blocked'] !== null
      );
    };
    await within(30_000, 'the loads applied by both', async () =>
      (await Promise.all([applied(a), applied(b)])).every(Boolean),
    );
    const forms: [string, string, string][] = [
      ['one-1', imei15, OWNER],
      ['one-2', `${device.slice(0, 2)}-${device.slice(2, 8)}-${device.slice(8)}-${imei15[14]}`, OWNER],
      ['one-3', device, OTHER_OWNER],
      ['one-4', `${device}07`, OWNER],
    ];
    // Keys as operators send them: the IMEI as typed, each landing on its own partition.
    for (const [id, form, owner] of forms)
      rig.producer.sendJson(topics.requests, form, request(id, form, owner));
    // The blocked device, sent to whichever partition: its owner decides with the list loaded through b.
    rig.producer.sendJson(topics.requests, 'blocked', request('one-blocked', '356865110000011', OWNER));
    await rig.producer.flush();
    const results = () =>
      rig.collector.json<{ requestId: string; outcome: string; reason: string | null }>(topics.results);
    /** The latest outcome of a request other than pending (results of one request come in order). */
    const finalOf = (id: string) =>
      results()
        .filter((r) => r.requestId === id && r.outcome !== 'pending')
        .at(-1);
    await rig.collector.waitFor(
      () => [...forms.map((f) => f[0]), 'one-blocked'].every((id) => finalOf(id) !== undefined),
      30_000,
      'every request decided',
    );
    expect(rig.collector.of(topics.confirmations).filter((m) => m.key === imei15)).toHaveLength(1);
    expect(finalOf('one-3')).toMatchObject({ outcome: 'review', reason: 'owner_conflict' });
    expect(forms.filter(([id]) => finalOf(id)?.outcome === 'confirmed')).toHaveLength(3);
    expect(finalOf('one-blocked')).toMatchObject({ outcome: 'rejected', reason: 'blocklisted' });
    // The device's registry entry is the same through both instances, whichever owns it.
    const registeredBy = async (service: ServiceProcess) =>
      (
        (await callService(service, `/v1/devices/${imei15}`, admin)).json['registry'] as {
          requestId?: string;
        } | null
      )?.requestId;
    await within(5_000, 'the registry entry on both', async () => {
      const [ra, rb] = await Promise.all([registeredBy(a), registeredBy(b)]);
      return ra !== undefined && ra === rb;
    });

    // ── a KGD file settles a request already waiting, on whichever instance owns it ───────
    const waiting = '35209900176155';
    rig.producer.sendJson(topics.requests, waiting, request('one-waiting', withLuhn(waiting), OWNER));
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => results().some((r) => r.requestId === 'one-waiting' && r.outcome === 'pending'),
      30_000,
      'the request waits',
    );
    const owner = (await ownedPartitions(a)).includes(devicePartition(waiting, PARTITIONS)) ? a : b;
    const other = owner === a ? b : a;
    const late = await callService(other, '/v1/declarations', admin, {
      method: 'POST',
      type: 'text/csv',
      body: `ID заявки,Код таможенной процедуры,IMEI\nKZ-ONE-2,40,${withLuhn(waiting)}\n`,
    });
    expect(late.json).toMatchObject({ rowsLoaded: 1 });
    await rig.collector.waitFor(
      () => finalOf('one-waiting')?.outcome === 'confirmed',
      30_000,
      'the waiting request settled',
    );

    // ── reviews: every instance sees every waiting request, and decides any ───────────────
    const conflictOwner = (await ownedPartitions(a)).includes(devicePartition(device, PARTITIONS)) ? a : b;
    const elsewhere = conflictOwner === a ? b : a;
    for (const service of [a, b]) {
      await within(5_000, 'the review on both', async () => {
        const { json } = await callService(service, '/v1/reviews', reviewer);
        return (json['items'] as { requestId: string }[]).some((i) => i.requestId === 'one-3');
      });
    }
    const decided = await callService(elsewhere, '/v1/reviews/one-3', reviewer, {
      method: 'POST',
      type: 'application/json',
      body: JSON.stringify({ decision: 'reject', reason: 'the device belongs to the first owner' }),
    });
    expect(decided.status).toBe(202);
    await rig.collector.waitFor(
      () => finalOf('one-3')?.outcome === 'rejected',
      30_000,
      'the review decided by its owner',
    );

    // ── one audit trail ───────────────────────────────────────────────────────────────────
    const trail = async (service: ServiceProcess) =>
      (
        (await callService(service, '/v1/audit?limit=1000', admin)).json['entries'] as {
          action: string;
          at: string;
        }[]
      ).map((e) => `${e.at} ${e.action}`);
    await within(5_000, 'the same trail on both', async () => {
      const [ta, tb] = await Promise.all([trail(a), trail(b)]);
      return ta.length > 0 && JSON.stringify(ta) === JSON.stringify(tb);
    });
    const actions = (await trail(a)).map((e) => e.split(' ')[1]);
    expect(actions).toEqual(
      expect.arrayContaining([
        'token.create',
        'load.tac',
        'load.blocklist',
        'load.declarations',
        'review.reject',
      ]),
    );

    // ── revoked: refused by both ──────────────────────────────────────────────────────────
    expect(clusterCli(rig, 'token', 'revoke', 'a.nurlanova').status).toBe(0);
    const revokeDelay = await within(5_000, 'the revoked token refused by both', async () => {
      const [ra, rb] = await Promise.all([
        callService(a, '/v1/reviews', reviewer),
        callService(b, '/v1/reviews', reviewer),
      ]);
      return ra.status === 401 && rb.status === 401;
    });

    // ── an empty data directory rebuilds from Kafka ───────────────────────────────────────
    await b.kill('SIGTERM');
    const c = await rig.startService('c');
    await c.waitReady(120_000);
    await within(10_000, 'the rebuilt instance knows the device, the token and the trail', async () => {
      const device = await callService(c, `/v1/devices/${imei15}`, admin);
      const tokenOk = device.status === 200;
      const tac = (device.json['tac'] as { brand?: string } | null)?.brand === 'Apple';
      const declared = JSON.stringify(device.json['declarations'] ?? '').includes('KZ-ONE-1');
      return tokenOk && tac && declared && (await trail(c)).length > 0;
    });
    process.stdout.write(
      `${JSON.stringify({ test: 'one-service', token_ms: tokenDelay, revoke_ms: revokeDelay })}\n`,
    );
  });
});
