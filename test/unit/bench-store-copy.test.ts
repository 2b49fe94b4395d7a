import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyBenchIndex } from '../../bench/lib/store-copy.js';
import { tempDir } from '../support/tmp.js';

describe("the benches' copy of the bench index", () => {
  const large = process.env['IMEIFLOW_BENCH_LARGE_COPY'];
  afterEach(() => {
    if (large === undefined) delete process.env['IMEIFLOW_BENCH_LARGE_COPY'];
    else process.env['IMEIFLOW_BENCH_LARGE_COPY'] = large;
  });

  /** A store-like directory: a file of whole pages and a tail, an empty file, a nested marker. */
  function storeDir(): Record<string, Buffer> {
    return {
      'imeiflow.lmdb': randomBytes(3 * (1 << 20) + 4096 * 5 + 123),
      'subject-keys': Buffer.alloc(0),
      'complete/marker': randomBytes(17),
    };
  }

  for (const mode of ['pages', 'large'] as const) {
    it(`copies every file byte for byte, nested directories included (${mode} copy)`, () => {
      if (mode === 'large') process.env['IMEIFLOW_BENCH_LARGE_COPY'] = '1';
      else delete process.env['IMEIFLOW_BENCH_LARGE_COPY'];
      const from = tempDir();
      const files = storeDir();
      for (const [name, bytes] of Object.entries(files)) {
        mkdirSync(join(from, name, '..'), { recursive: true });
        writeFileSync(join(from, name), bytes);
      }
      const to = join(tempDir(), 'copy');
      copyBenchIndex(from, to);
      for (const [name, bytes] of Object.entries(files))
        expect(readFileSync(join(to, name)).equals(bytes)).toBe(true);
    });
  }
});
