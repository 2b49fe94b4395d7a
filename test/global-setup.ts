/**
 * Runs before any test: the tests drive real Debian tools (promtool and Prometheus, headless
 * Chromium). Without them a test would fail with a bare ENOENT deep inside; this says once what
 * to install instead.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const REQUIRED: readonly { command: string; debianPackage: string }[] = [
  { command: 'promtool', debianPackage: 'prometheus' },
  { command: 'prometheus', debianPackage: 'prometheus' },
  { command: 'chromium', debianPackage: 'chromium' },
];

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

export default function checkTools(): void {
  const missing = [...new Set(REQUIRED.filter((r) => !onPath(r.command)).map((r) => r.debianPackage))];
  if (missing.length > 0) {
    throw new Error(
      `the tests need Debian's ${missing.join(' and ')}: sudo apt-get install ${missing.join(' ')} ` +
        '(or run .ci/run, which installs what is missing and then runs npm test)',
    );
  }
}
