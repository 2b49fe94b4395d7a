/**
 * bench/load: a KGD monthly export loaded for the whole cluster. Two instances run in one group
 * on the embedded cluster (in its own process), each on an empty data directory; the CLI loads a
 * `--rows` export with KAFKA_BROKERS set (the path an operator takes: the file is published as
 * release decisions, every instance applies them). Prints how long the CLI took to report (every
 * row acknowledged by Kafka) and how long until both instances had applied the last row, as rows
 * per second cluster-wide; the CLI's report keeps its per-line rejections (the export carries one
 * bad row per 100 000).
 *
 *   node dist/bench/load.js [--rows 1000000] [--record]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PACKAGE_ROOT } from '../src/paths.js';
import { declaredBody, withCheckDigit } from './lib/dataset.js';
import { type ServiceProcess, startBroker, startService, uniqueTopics } from './lib/harness.js';
import { emit, note, numberArg } from './lib/report.js';

const rows = numberArg('rows', 1_000_000);
const BIN = join(PACKAGE_ROOT, 'bin/imeiflow.js');
const BAD_EVERY = 100_000;

async function writeExport(file: string): Promise<number> {
  const out = createWriteStream(file);
  out.write('ID заявки,Код таможенной процедуры,IMEI,status,decided_at\n');
  let bad = 0;
  for (let i = 0; i < rows; i++) {
    const imei = i % BAD_EVERY === BAD_EVERY - 1 ? '12345' : withCheckDigit(declaredBody(i));
    if (imei === '12345') bad++;
    const line = `KZ-LOAD-${String(Math.floor(i / 100)).padStart(9, '0')},40,${imei},released,2026-10-15T09:00:00Z\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bad;
}

function cli(
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function applied(
  service: ServiceProcess,
  token: string,
  imei: string,
  applicationId: string,
): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${service.port}/v1/devices/${imei}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.status !== 200) return false;
  return JSON.stringify(await response.json()).includes(applicationId);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'imeiflow-load-'));
  const broker = await startBroker();
  const services: ServiceProcess[] = [];
  try {
    const { env } = uniqueTopics(`bench-load-${Date.now()}`);
    const cluster = { ...env, KAFKA_BROKERS: broker.bootstrap, IMEIFLOW_LOG_LEVEL: 'warn' };
    for (const name of ['a', 'b']) {
      services.push(await startService({ bootstrap: broker.bootstrap, dataDir: join(root, name), env }));
    }
    await Promise.all(services.map((s) => s.waitReady(120_000)));
    const created = await cli({ ...cluster, IMEIFLOW_DATA_DIR: join(root, 'cli') }, [
      'token',
      'create',
      '--name',
      'bench.admin',
      '--role',
      'admin',
    ]);
    const token = created.stdout.trim();
    const file = join(root, 'export.csv');
    note(`writing a ${rows}-row KGD export`);
    const bad = await writeExport(file);
    const last = rows % BAD_EVERY === 0 ? rows - 2 : rows - 1;
    const lastImei = withCheckDigit(declaredBody(last));
    const lastApplication = `KZ-LOAD-${String(Math.floor(last / 100)).padStart(9, '0')}`;
    note('loading it through the CLI on the cluster');
    const started = performance.now();
    const load = await cli({ ...cluster, IMEIFLOW_DATA_DIR: join(root, 'cli') }, [
      'load-declarations',
      file,
      '--json',
    ]);
    const reportedMs = performance.now() - started;
    if (load.code !== 1 && load.code !== 0) throw new Error(`load failed (${load.code}): ${load.stderr}`);
    const report = JSON.parse(load.stdout.trim().split('\n').at(-1)!) as {
      rowsRead: number;
      rowsLoaded: number;
      rowsRejected: number;
      rejections: { line: number }[];
    };
    const appliedAt: number[] = [];
    for (const service of services) {
      for (;;) {
        if (await applied(service, token, lastImei, lastApplication)) break;
        if (performance.now() - started > 600_000) throw new Error('the instances did not apply the export');
        await new Promise((r) => setTimeout(r, 50));
      }
      appliedAt.push(performance.now() - started);
    }
    const allAppliedMs = Math.max(...appliedAt);
    emit(
      'load',
      {
        rows,
        instances: 2,
        broker: 'embedded (own process)',
        path: 'CLI with KAFKA_BROKERS → kgd.release.decisions',
      },
      {
        rows_read: report.rowsRead,
        rows_loaded: report.rowsLoaded,
        rows_rejected: report.rowsRejected,
        rejections_reported_by_line: report.rejections.length,
        expected_rejections: bad,
        reported_s: Number((reportedMs / 1000).toFixed(2)),
        applied_by_both_s: Number((allAppliedMs / 1000).toFixed(2)),
        rows_per_s_published: Math.round(rows / (reportedMs / 1000)),
        rows_per_s_cluster_wide: Math.round(rows / (allAppliedMs / 1000)),
      },
    );
  } finally {
    for (const service of services) await service.kill('SIGTERM');
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
