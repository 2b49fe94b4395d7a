#!/usr/bin/env node
// `npm test` starts here: the integration tests drive Debian tools (kcat, promtool and
// Prometheus, headless Chromium, openssl for test certificates, util-linux's prlimit for a store
// that cannot grow). Install the missing ones when
// this machine lets us (root, or sudo without a password); otherwise say exactly what to install
// and stop.
import { execFileSync, spawnSync } from 'node:child_process';

const PACKAGES = {
  kcat: 'kcat',
  promtool: 'prometheus',
  prometheus: 'prometheus',
  chromium: 'chromium',
  openssl: 'openssl',
  prlimit: 'util-linux',
};

const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
const missing = [
  ...new Set(
    Object.entries(PACKAGES)
      .filter(([c]) => !has(c))
      .map(([, p]) => p),
  ),
];
if (missing.length === 0) process.exit(0);

const root = process.getuid?.() === 0;
const sudo = !root && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
if (!root && !sudo) {
  console.error(
    `npm test needs Debian's ${missing.join(', ')} and cannot install them without root: ` +
      `sudo apt-get install ${missing.join(' ')}   (npm run test:unit needs none of them)`,
  );
  process.exit(1);
}
const run = (args) =>
  execFileSync(sudo ? 'sudo' : args[0], sudo ? args : args.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
console.error(`installing Debian packages the tests need: ${missing.join(' ')}`);
run(['apt-get', 'update', '-qq']);
run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing]);
