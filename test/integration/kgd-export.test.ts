/**
 * The month of a KGD monthly export (seed 000 §11) is cluster-wide state: a file uploaded to one
 * instance, or loaded with the CLI on the cluster, is recorded on `imeiflow.exports` once its
 * decisions are delivered, and every instance shows the last month loaded (GET /v1/info, the
 * export-month gauges).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../../bench/lib/harness.js';
import { luhnDigit } from '../../src/domain/imei.js';
import { addMonths, dueExportMonth, monthOfInstant, monthTimestamp } from '../../src/domain/kgd-export.js';
import { clusterCli, within } from '../support/cluster-clients.js';
import { useRig } from '../support/rig.js';

const rig = useRig({
  name: 'kgd-export',
  stores: { a: async () => undefined, b: async () => undefined },
  kafka: { collect: ['exports', 'decisions'] },
});
const withLuhn = (body: string) => body + String(luhnDigit(body));

interface ExportStatus {
  lastMonth: string | null;
  rows: number | null;
  expectedMonth: string;
  overdue: boolean;
}

/** GET /v1/info's export status; undefined while the instance does not know the token yet. */
async function exportStatus(service: ServiceProcess, token: string): Promise<ExportStatus | undefined> {
  // The export status is for authenticated callers (any role).
  const response = await fetch(`http://127.0.0.1:${service.port}/v1/info`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return ((await response.json()) as { kgdExport?: ExportStatus }).kgdExport;
}

async function gauge(service: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

describe("KGD's monthly export across instances", () => {
  it('a file loaded through one instance or the CLI shows its month on every instance', async () => {
    const a = await rig.startService('a');
    const b = await rig.startService('b');
    await Promise.all([a.waitReady(120_000), b.waitReady(120_000)]);
    const admin = clusterCli(rig, 'token', 'create', '--name', 'kgd.loader', '--role', 'kgd');
    expect(admin.status, admin.stderr).toBe(0);
    const token = admin.stdout.trim();

    // Months that have ended whatever today is: the one before last, and last month.
    const thisMonth = monthOfInstant(new Date(), 300);
    const earlier = addMonths(thisMonth, -2);
    const last = addMonths(thisMonth, -1);
    for (const service of [a, b]) {
      // The token reaches every instance through the tokens topic.
      await within(
        10_000,
        'the token on every instance',
        async () => (await exportStatus(service, token)) !== undefined,
      );
      expect(await exportStatus(service, token)).toMatchObject({
        lastMonth: null,
        overdue: true,
        expectedMonth: dueExportMonth(new Date(), 300),
      });
      expect(await gauge(service, 'imeiflow_kgd_export_last_month_timestamp_seconds')).toBe(0);
    }

    // ── uploaded to a, with its month from the decisions' dates ───────────────────────────
    const rows = ['35209900176148', '35209900176155', '35209900176163'].map(
      (body, i) => `KZ-EXP-${i},40,${withLuhn(body)},released,${earlier}-1${i}T10:00:00Z`,
    );
    const upload = await fetch(`http://127.0.0.1:${a.port}/v1/declarations?file=export-${earlier}.csv`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
      body: `ID заявки,Код таможенной процедуры,IMEI,status,decided_at\n${rows.join('\n')}\n`,
    });
    expect(upload.status).toBe(200);
    expect(await upload.json()).toMatchObject({
      rowsLoaded: 3,
      kgdExport: { month: earlier, from: 'decisions', warnings: [] },
    });
    const delay = await within(10_000, 'b shows the month loaded through a', async () => {
      const status = await exportStatus(b, token);
      return status?.lastMonth === earlier && status.rows === 3;
    });
    expect(await gauge(b, 'imeiflow_kgd_export_last_month_timestamp_seconds')).toBe(
      monthTimestamp(earlier).getTime() / 1000,
    );
    expect(await gauge(b, 'imeiflow_kgd_export_expected_month_timestamp_seconds')).toBe(
      monthTimestamp(dueExportMonth(new Date(), 300)).getTime() / 1000,
    );
    // The record follows the decisions it stands for.
    const exports = () => rig.collector.of(rig.topics.exports);
    // The test's own reader of the topic may poll a moment after the instances did.
    await rig.collector.waitFor(() => exports().length > 0, 10_000, 'the export record');
    expect(exports().map((m) => m.key)).toEqual([`kgd/${earlier}`]);
    expect(rig.collector.of(rig.topics.decisions).length).toBeGreaterThan(0);
    expect(JSON.parse(exports()[0]!.value!)).toMatchObject({
      month: earlier,
      monthFrom: 'decisions',
      file: `export-${earlier}.csv`,
      rows: 3,
      actor: 'kgd.loader',
    });

    // ── loaded with the CLI on the cluster, the month given ───────────────────────────────
    const file = join(rig.root, 'undated.csv');
    writeFileSync(
      file,
      `ID заявки,Код таможенной процедуры,IMEI\nKZ-EXP-9,40,${withLuhn('35209900176171')}\n`,
    );
    const undated = clusterCli(rig, 'load-declarations', file);
    expect(undated.status, undated.stderr).toBe(0);
    expect(undated.stdout).toContain('not recorded as a KGD monthly export');
    const given = clusterCli(rig, 'load-declarations', file, '--month', last);
    expect(given.stdout).toContain(`recorded as the KGD monthly export of ${last} (the month given)`);
    for (const service of [a, b]) {
      await within(10_000, `the CLI's month on ${service === a ? 'a' : 'b'}`, async () => {
        const status = await exportStatus(service, token);
        return status?.lastMonth === last && status.rows === 1 && !status.overdue;
      });
    }
    await rig.collector.waitFor(() => exports().length >= 2, 10_000, 'the second export record');
    // One record per month (keys on their own partitions: compared as a set).
    expect(
      exports()
        .map((m) => m.key)
        .sort(),
    ).toEqual([`kgd/${earlier}`, `kgd/${last}`].sort());
    process.stdout.write(`${JSON.stringify({ test: 'kgd-export', other_instance_ms: delay })}\n`);
  });
});
