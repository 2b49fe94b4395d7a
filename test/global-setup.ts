/**
 * Runs once before any test: compiles the sources, because worker threads and the child
 * processes the integration tests start (`imeiflow run`, `imeiflow broker`) run the compiled
 * code in dist/. Without this, a test run after an edit would test stale code. About 5 s.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';

export default function build(): void {
  execFileSync(
    process.execPath,
    [join(PACKAGE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: PACKAGE_ROOT,
      stdio: 'inherit',
    },
  );
}
