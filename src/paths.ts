/**
 * Where the package's own files are, whether this module runs compiled (dist/src/…) or from
 * source under vitest (src/…): walk up to the directory holding package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('imeiflow: cannot find package.json above the running module');
    dir = parent;
  }
}

export const PACKAGE_ROOT = findRoot();

/** Workers always run compiled: Piscina starts plain Node threads. */
export const VERIFY_WORKER_FILE = join(PACKAGE_ROOT, 'dist/src/pool/verify-worker.js');
/** Kazakhstan's working-day calendar, the default of `pending.calendarFile`. */
export const DEFAULT_CALENDAR_FILE = join(PACKAGE_ROOT, 'config/calendar/kz.json');
