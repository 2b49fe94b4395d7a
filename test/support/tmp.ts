import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { harnessKeyDirPrefix } from '../../bench/lib/harness-files.js';

/** The directories this test file made, removed when it ends. */
const made: string[] = [];

// Registered once, as the test file imports this module: a hook registered inside another hook
// (a `tempDir()` in a `beforeAll`) is never run, and its directory was left in /tmp. Hooks after
// the tests run last-registered first, so this one runs after the file's own (its services
// stopped). It also removes the harness's cluster key directory of this process
// (bench/lib/harness.ts), which is otherwise removed only when the process exits normally.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const name of readdirSync(tmpdir())) {
    if (name.startsWith(harnessKeyDirPrefix()))
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
});

/** A temporary directory removed when the test file ends. */
export function tempDir(prefix = 'imeiflow-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
