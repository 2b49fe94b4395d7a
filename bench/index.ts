/**
 * bench/index: the declaration index as it grows. Loads a KGD export (CSV, through the real
 * loader) up to each size, then times random lookups of declared IMEIs and reads the process's
 * resident memory. Targets (DESIGN.md §6): lookups ≤ 1.5× slower from the first size to the
 * last, bulk load ≥ 200 k rows/s, resident memory flat.
 *
 *   node dist/bench/index.js [--sizes 1000000,5000000,20000000] [--lookups 200000] [--record]
 */

import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadDeclarations } from '../src/loaders/declarations-loader.js';
import { openStore } from '../src/store/store.js';
import { declaredBody, withCheckDigit } from './lib/dataset.js';
import { emit, note, numberArg } from './lib/report.js';

const sizes = ((): number[] => {
  const i = process.argv.indexOf('--sizes');
  const raw = i === -1 ? '1000000,5000000,20000000' : (process.argv[i + 1] ?? '');
  return raw
    .split(',')
    .map(Number)
    .filter((n) => n > 0)
    .sort((a, b) => a - b);
})();
const lookups = numberArg('lookups', 200_000);

/** Rows [from, to) of a KGD export, 100 IMEIs per application, written as CSV. */
async function writeExport(file: string, from: number, to: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('ID заявки,Код таможенной процедуры,IMEI,status,decided_at\n');
  for (let i = from; i < to; i++) {
    const line = `KZ-IDX-${String(Math.floor(i / 100)).padStart(9, '0')},40,${withCheckDigit(declaredBody(i))},released,2026-11-01T09:00:00Z\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/**
 * Resident memory split as Linux reports it: anonymous (heaps: what the process owns) and file
 * (LMDB's memory-mapped pages: page cache the kernel can drop at any time).
 */
function residentMemory(): { anon_mib: number; file_mib: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { anon_mib: Math.round(kib('RssAnon') / 1024), file_mib: Math.round(kib('RssFile') / 1024) };
}

function timeLookups(get: (body: string) => unknown, total: number, count: number): number {
  // A fixed pseudo-random walk over the declared IMEIs, the same for every size.
  const keys: string[] = [];
  for (let i = 0; i < count; i++) keys.push(declaredBody((i * 2_654_435_761) % total));
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    let found = 0;
    const started = performance.now();
    for (const key of keys) if (get(key) !== undefined) found++;
    const ns = ((performance.now() - started) * 1e6) / count;
    if (found !== count) throw new Error(`only ${found} of ${count} lookups found their IMEI`);
    best = Math.min(best, ns);
  }
  return Math.round(best);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'imeiflow-index-bench-'));
  const store = openStore({ dataDir: join(dir, 'data') });
  const results: {
    declared: number;
    load_rows_per_s: number;
    lookup_ns: number;
    rss_anon_mib: number;
    rss_file_mib: number;
    lmdb_mib: number;
  }[] = [];
  try {
    let loaded = 0;
    for (const size of sizes) {
      const file = join(dir, `export-${size}.csv`);
      note(`writing rows ${loaded}..${size}`);
      await writeExport(file, loaded, size);
      note(`loading ${size - loaded} rows`);
      const report = await loadDeclarations(store, file);
      rmSync(file);
      if (report.rowsRejected > 0)
        throw new Error(`${report.rowsRejected} rows rejected: ${JSON.stringify(report.rejections[0])}`);
      loaded = size;
      store.env.resetReadTxn();
      const ns = timeLookups((body) => store.declarations.get(body), size, lookups);
      const rss = residentMemory();
      const lmdb = Math.round(statSync(store.path).size / 2 ** 20);
      results.push({
        declared: size,
        load_rows_per_s: report.rowsPerSecond,
        lookup_ns: ns,
        rss_anon_mib: rss.anon_mib,
        rss_file_mib: rss.file_mib,
        lmdb_mib: lmdb,
      });
      note(JSON.stringify(results[results.length - 1]));
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const slowdown = last.lookup_ns / first.lookup_ns;
  const minLoad = Math.min(...results.map((r) => r.load_rows_per_s));
  emit(
    'index',
    { sizes, lookups, rows_per_application: 100 },
    {
      results,
      lookup_slowdown: Number(slowdown.toFixed(2)),
      rss_anon_growth_mib: last.rss_anon_mib - first.rss_anon_mib,
      targets: { lookup_slowdown: 1.5, load_rows_per_s: 200_000 },
      targets_met: { lookup_slowdown: slowdown <= 1.5, load_rows_per_s: minLoad >= 200_000 },
    },
  );
}

await main();
