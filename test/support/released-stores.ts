/**
 * Stores made by earlier releases (test/fixtures/store-v<schema>/store.tar.gz, each with the
 * make.mjs that made it), for the tests of the migrations from them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

/** A fresh copy of the released store of `schema` in `dataDir`; returns `dataDir`. */
export function releasedStore(schema: 2 | 3, dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const archive = join(PACKAGE_ROOT, `test/fixtures/store-v${schema}/store.tar.gz`);
  execFileSync('tar', ['-C', dataDir, '-xzf', archive]);
  return dataDir;
}
