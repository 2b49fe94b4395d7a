#!/usr/bin/env node
// The `imeiflow` command. The TypeScript is compiled by `npm ci` (the prepare script).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'imeiflow is not built yet: run `npm ci` (or `npm run build`) in the checkout first\n',
  );
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
