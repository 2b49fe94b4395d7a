/**
 * Imports run one way (docs/layout.md): the domain is pure and imports nothing of the service;
 * the store and the worker pool sit under everything that does I/O on Kafka or HTTP; nothing
 * below the command line and the control plane imports them. Read from the sources themselves,
 * so a new import that breaks the direction fails here, not in review.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../src');
/** Modules at the top of src/ that every layer may use: they import nothing of the service. */
const SHARED_ROOT = new Set(['errors.ts', 'log.ts', 'paths.ts']);
/** The type of the configuration the workers get, derived from the settings' declarations. */
const WORKER_CONFIG = 'config/worker-settings.ts';

interface Import {
  readonly from: string;
  readonly to: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of src/, as paths relative to src/ with .ts for the .js written. */
function relativeImports(): Import[] {
  const specifier = /^(?:import|export)\s[\w\s{},*$]*?from\s*'(\.{1,2}\/[^']+)'/gm;
  return sources(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(specifier)].map((match) => ({
      from: relative(SRC, file),
      to: relative(SRC, resolve(dirname(file), match[1]!)).replace(/\.js$/, '.ts'),
    })),
  );
}

/** Package specifiers (not relative, not node:) imported by the files under a folder of src/. */
function packagesOf(folder: string): Set<string> {
  const specifier = /^(?:import|export)\s[\w\s{},*$]*?from\s*'([^.'][^']*)'/gm;
  const found = new Set<string>();
  for (const file of sources(join(SRC, folder))) {
    for (const match of readFileSync(file, 'utf8').matchAll(specifier)) {
      if (!match[1]!.startsWith('node:')) found.add(match[1]!);
    }
  }
  return found;
}

const folderOf = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path);

function violations(imports: Import[], from: string, allowed: (to: string) => boolean): string[] {
  return imports.filter((i) => folderOf(i.from) === from && !allowed(i.to)).map((i) => `${i.from} → ${i.to}`);
}

describe('the import direction', () => {
  const imports = relativeImports();

  it('reads the imports it checks', () => {
    expect(imports.length).toBeGreaterThan(200);
    expect(imports).toContainEqual({ from: 'pool/partition-batch.ts', to: 'domain/rules.ts' });
  });

  it('the domain imports only the domain, and no I/O library', () => {
    expect(violations(imports, 'domain', (to) => folderOf(to) === 'domain')).toEqual([]);
    expect([...packagesOf('domain')].sort()).toEqual(['msgpackr', 'zod']);
  });

  it('the store imports only the domain and the shared root modules', () => {
    const allowed = (to: string) => ['store', 'domain'].includes(folderOf(to)) || SHARED_ROOT.has(to);
    expect(violations(imports, 'store', allowed)).toEqual([]);
  });

  it('the worker pool imports only the store, the domain and the shared root modules', () => {
    const allowed = (to: string) =>
      ['pool', 'store', 'domain'].includes(folderOf(to)) || SHARED_ROOT.has(to) || to === WORKER_CONFIG;
    expect(violations(imports, 'pool', allowed)).toEqual([]);
  });

  it('and of the configuration, only the type of what the workers read', () => {
    // Erased at compile time: nothing of the configuration's loading runs in a worker.
    const valueImport = /^(?:import(?!\s+type\b)|export)\s[^;]*?from\s*'[./]*config\/worker-settings\.js'/m;
    const importers = imports.filter((i) => folderOf(i.from) === 'pool' && i.to === WORKER_CONFIG);
    expect(importers.length).toBeGreaterThan(0);
    const valueImports = importers.filter((i) => valueImport.test(readFileSync(join(SRC, i.from), 'utf8')));
    expect(valueImports.map((i) => i.from)).toEqual([]);
  });

  it('nothing below the command line and the control plane imports them', () => {
    const upward = imports.filter(
      (i) =>
        (folderOf(i.to) === 'cli' && folderOf(i.from) !== 'cli') ||
        (folderOf(i.to) === 'http' &&
          !['http', 'cli', 'components', 'service.ts'].includes(folderOf(i.from))),
    );
    expect(upward.map((i) => `${i.from} → ${i.to}`)).toEqual([]);
  });

  it('the runtime imports only itself, the shared root modules and the full-store check', () => {
    const allowed = (to: string) =>
      folderOf(to) === 'runtime' || SHARED_ROOT.has(to) || to === 'store/store-full.ts';
    expect(violations(imports, 'runtime', allowed)).toEqual([]);
  });

  it("only the composition root imports the service's components", () => {
    const inward = imports.filter(
      (i) => folderOf(i.to) === 'components' && !['components', 'service.ts'].includes(folderOf(i.from)),
    );
    expect(inward.map((i) => `${i.from} → ${i.to}`)).toEqual([]);
  });

  it("docs/layout.md (the README's former Layout) names every folder of src/", () => {
    const layout = readFileSync(join(SRC, '..', 'docs', 'layout.md'), 'utf8');
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    expect(folders.filter((folder) => !layout.includes(`  ${folder}/`))).toEqual([]);
  });
});
