/**
 * bench/http: GET /v1/devices/:imei under autocannon. The control plane runs in a child process
 * over an index of 1 M declared IMEIs (the same dataset as bench/verify), with a bearer token;
 * autocannon drives it from this process, so each has a core.
 *
 *   node dist/bench/http.js [--declared 1000000] [--connections 50] [--seconds 10] [--record]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config/config.js';
import { buildControlPlane } from '../src/http/app.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { AuditLog } from '../src/security/audit-log.js';
import { TokenService } from '../src/security/tokens.js';
import { openStore } from '../src/store/store.js';
import { declaredBody, ensureBenchIndex, withCheckDigit } from './lib/dataset.js';
import { emit, numberArg } from './lib/report.js';

const declared = numberArg('declared', 1_000_000);
const connections = numberArg('connections', 50);
const seconds = numberArg('seconds', 10);

/** Child mode: serve the control plane and report the port and a token. */
async function serve(): Promise<void> {
  const dataDir = await ensureBenchIndex('verify', declared);
  const store = openStore({ dataDir });
  const tokens = new TokenService(store, 60);
  const token = await tokens.create('bench', 'operator');
  const app = await buildControlPlane({
    config: loadConfig({ env: { IMEIFLOW_DATA_DIR: dataDir } }),
    log: createLogger('error'),
    store,
    tokens,
    audit: new AuditLog(store, dataDir),
    metrics: new Metrics(),
    info: { version: 'bench', embeddedKafka: false, brokers: 'none', topics: {}, partitions: 0, workers: 0 },
    notReadyReason: () => null,
    ownedPartitions: () => [],
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ address, token });
  // A clean exit writes the CPU profile when one was asked for.
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

async function main(): Promise<void> {
  await ensureBenchIndex('verify', declared);
  const child = fork(fileURLToPath(import.meta.url), ['--serve'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // IMEIFLOW_BENCH_PROFILE=DIR writes a CPU profile of the server there.
    execArgv: process.env['IMEIFLOW_BENCH_PROFILE']
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env['IMEIFLOW_BENCH_PROFILE']}`]
      : [],
  });
  const { address, token } = await new Promise<{ address: string; token: string }>((resolve) =>
    child.once('message', resolve as never),
  );
  const requests = Array.from({ length: 1000 }, (_, i) => ({
    method: 'GET' as const,
    path: `/v1/devices/${withCheckDigit(declaredBody((i * 7919) % declared))}`,
  }));
  // Warm-up: JIT, page cache.
  await autocannon({
    url: address,
    connections,
    duration: 2,
    headers: { authorization: `Bearer ${token}` },
    requests,
  });
  const result = await autocannon({
    url: address,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
    requests,
  });
  child.kill('SIGTERM');
  const rps = Math.round(result.requests.average);
  const p99 = result.latency.p99;
  emit(
    'http',
    { route: 'GET /v1/devices/:imei', declared_imeis: declared, connections, seconds },
    {
      requests_per_s: rps,
      latency_ms: { p50: result.latency.p50, p99, max: result.latency.max },
      errors: result.errors,
      non_2xx: result.non2xx,
      target: { requests_per_s: 15_000, p99_ms: 20 },
      target_met: rps >= 15_000 && p99 <= 20 && result.non2xx === 0,
    },
  );
}

if (process.argv.includes('--serve')) await serve();
else await main();
