/**
 * Every benchmark prints exactly one JSON line: its figures plus the settings and machine they
 * came from, so CI can keep a history and compare runs. `--record` also appends the line to
 * bench/results/history.jsonl.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/paths.js';

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

export function machine(): Record<string, string | number> {
  return {
    node: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
  };
}

export function emit(
  bench: string,
  settings: Record<string, unknown>,
  figures: Record<string, unknown>,
): void {
  const line = JSON.stringify({
    bench,
    at: new Date().toISOString(),
    commit: commit(),
    ...machine(),
    settings,
    ...figures,
  });
  process.stdout.write(`${line}\n`);
  if (process.argv.includes('--record')) {
    const dir = join(PACKAGE_ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    appendFileSync(join(dir, 'history.jsonl'), `${line}\n`);
  }
}

/** `--name value` from argv, as a number, else the default. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
  return value;
}

/** Progress notes go to stderr so stdout stays one JSON line. */
export function note(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
