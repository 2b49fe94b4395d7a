#!/usr/bin/env node
// npm links the bins of dependencies into node_modules/.bin, but not the project's own, so
// `npx imeiflow` in a checkout would look for a package named imeiflow on the registry.
// `npm ci` runs this (prepare) to link it.
import { chmodSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';

const bin = new URL('../node_modules/.bin/', import.meta.url);
mkdirSync(bin, { recursive: true });
const link = new URL('imeiflow', bin);
rmSync(link, { force: true });
symlinkSync('../../bin/imeiflow.js', link);
chmodSync(new URL('../bin/imeiflow.js', import.meta.url), 0o755);
