/**
 * The Debian tools some tests drive (promtool and Prometheus, headless Chromium, openssl, prlimit,
 * kcat).
 * Only the tests that use one ask for it, so a unit test file runs with nothing but `npm ci`; a test
 * that needs a missing tool fails with what to install instead of a bare ENOENT deep inside.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const PACKAGE_OF = {
  promtool: 'prometheus',
  prometheus: 'prometheus',
  chromium: 'chromium',
  openssl: 'openssl',
  // Writes to a topic as anyone with access would (a forged internal event).
  kcat: 'kcat',
  // RLIMIT_FSIZE for a process: a store that cannot grow, as on a full disk.
  prlimit: 'util-linux',
} as const;
export type DebianTool = keyof typeof PACKAGE_OF;

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Throws, naming the Debian packages to install, unless every tool is on the PATH. */
export function requireTools(...tools: DebianTool[]): void {
  const missing = [...new Set(tools.filter((t) => !onPath(t)).map((t) => PACKAGE_OF[t]))];
  if (missing.length > 0) {
    throw new Error(
      `this test needs Debian's ${missing.join(' and ')}: sudo apt-get install ${missing.join(' ')} ` +
        '(npm test installs them when it can; .ci/run always does)',
    );
  }
}
