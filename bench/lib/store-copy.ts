/**
 * A copy of the bench index for a benchmark to write into, made the way LMDB writes its own file:
 * a page at a time.
 *
 * A copy made in large writes (`fs.cpSync`, `cp`) stays in the page cache in large folios (up to
 * 2 MiB on an ext4 file from Linux 6.16), and every later 4 KiB write into such a folio sends the
 * whole folio to storage at the next sync (docs/performance.md, "What a request writes"). A store
 * LMDB grew itself is written in single pages and short runs, and a store read back from disk
 * after a restart comes in as LMDB faults its pages in: neither holds the copy's folios. A
 * benchmark that wrote into a `cpSync` copy measured the copy, not the store.
 *
 * `IMEIFLOW_BENCH_LARGE_COPY=1` copies with `cpSync` as the benchmarks did before, to show the
 * difference.
 */
import { closeSync, cpSync, mkdirSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const PAGE = 4096;
const CHUNK = 1 << 20;

/** A copy of the store in directory `from` at `to`, made in pages (or, asked to, in large writes). */
export function copyBenchIndex(from: string, to: string): void {
  if (process.env['IMEIFLOW_BENCH_LARGE_COPY'] === '1') cpSync(from, to, { recursive: true });
  else copyStoreInPages(from, to);
}

/** Copies directory `from` into `to` (made if missing), every file written in 4 KiB writes. */
function copyStoreInPages(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      copyStoreInPages(source, target);
      continue;
    }
    const input = openSync(source, 'r');
    const output = openSync(target, 'w');
    try {
      for (let position = 0; ; ) {
        const read = readSync(input, buffer, 0, CHUNK, position);
        if (read === 0) break;
        for (let at = 0; at < read; at += PAGE)
          writeSync(output, buffer, at, Math.min(PAGE, read - at), position + at);
        position += read;
      }
    } finally {
      closeSync(input);
      closeSync(output);
    }
  }
}
