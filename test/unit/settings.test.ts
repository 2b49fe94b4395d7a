/**
 * The settings' declarations (src/config/settings.ts) are the one place a setting is written:
 * each is complete, each variable sets one place, and every variable the docs and deploy/ name
 * is one of them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Config, DEFAULTS, deadlinePolicy, loadConfig } from '../../src/config/config.js';
import { envBindingsOf, settingsOf } from '../../src/config/define.js';
import { SETTINGS } from '../../src/config/settings.js';
import { workerSettings } from '../../src/config/worker-settings.js';
import { deadlinePolicyOf } from '../../src/domain/deadline.js';
import type { RuleConfig } from '../../src/domain/rule-settings.js';
import { PACKAGE_ROOT } from '../../src/paths.js';

const read = (file: string) => readFileSync(join(PACKAGE_ROOT, file), 'utf8');
const declared = settingsOf(SETTINGS);

/** The same keys (the domain may not import the configuration: its type of `rules` is a copy). */
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
const variables = envBindingsOf(SETTINGS);

/** Variables read by the code outside the service: `process.env['IMEIFLOW_…']` in sim/, bench/, test/. */
function toolVariables(): string[] {
  const sources = ['sim', 'bench', 'test'].flatMap((dir) =>
    (readdirSync(join(PACKAGE_ROOT, dir), { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(dir, f)),
  );
  return sources.flatMap((file) =>
    [...read(file).matchAll(/process\.env\['(IMEIFLOW_[A-Z_]+)'\]/g)].map((m) => m[1]!),
  );
}

describe('the settings', () => {
  it('each is described and has a reader', () => {
    for (const { path, setting } of declared) {
      expect(setting.doc.length, path.join('.')).toBeGreaterThan(10);
      expect(setting.readBy.length, path.join('.')).toBeGreaterThan(0);
    }
  });

  it('each has a default the schema takes, but the calendar (read from its file)', () => {
    const without = declared
      .filter(({ setting }) => setting.default === undefined)
      .map(({ path }) => path.join('.'));
    expect(without).toEqual(['pending.calendar']);
    for (const { path, setting } of declared) {
      if (setting.default === undefined) continue;
      const result = setting.schema.safeParse(setting.default);
      expect(result.success, `${path.join('.')}: ${result.error?.message}`).toBe(true);
    }
    expect(loadConfig({ env: {} }).pool).toEqual(DEFAULTS['pool']);
  });

  it('each variable is declared once and sets one place', () => {
    const names = variables.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    const places = variables.map((v) => v.path.join('.'));
    expect(new Set(places).size).toBe(places.length);
    expect(names.every((name) => name === 'KAFKA_BROKERS' || name.startsWith('IMEIFLOW_'))).toBe(true);
  });

  it("a variable is read as its setting's type says", () => {
    const config = loadConfig({
      env: {
        IMEIFLOW_ACCEPT_EAEU_IMPORTS: 'false',
        IMEIFLOW_WORKERS: 'auto',
        IMEIFLOW_HOLIDAYS: '2027-01-05, 2027-01-06',
        IMEIFLOW_HTTP_MAX_UPLOAD_BYTES: '2048',
        IMEIFLOW_KAFKA_SECURITY_PROTOCOL: 'ssl',
        KAFKA_BROKERS: 'k:9093',
        IMEIFLOW_KAFKA_SSL_CA_LOCATION: '/ca.pem',
      },
    });
    expect(config.rules.acceptEaeuImports).toBe(false);
    expect(config.pool.workers).toBeNull();
    expect(config.pending.holidays).toEqual(['2027-01-05', '2027-01-06']);
    expect(config.http.maxUploadBytes).toBe(2048);
    expect(config.kafka.security.settings).toEqual({ 'ssl.ca.location': '/ca.pem' });
  });

  it("the rules' domain type has exactly the declared rules (a type check: tsc fails first)", () => {
    const rules: RuleConfig = loadConfig({ env: {} }).rules;
    const sameRules: SameKeys<RuleConfig, Config['rules']> = true;
    const sameSpareDigit: SameKeys<RuleConfig['spareDigit'], Config['rules']['spareDigit']> = true;
    expect([sameRules, sameSpareDigit, Object.keys(rules).length]).toEqual([true, true, 4]);
  });

  it('the deadline reaches the workers from its variable', () => {
    const config = loadConfig({ env: { IMEIFLOW_DEADLINE_WORKING_DAYS: '2' } });
    // As the worker gets it: a structured clone of its workerData.
    const { config: workers } = structuredClone(workerSettings(config));
    expect(deadlinePolicyOf(workers.pending).workingDays).toBe(2);
    expect(deadlinePolicyOf(workers.pending)).toEqual(deadlinePolicy(config));
  });

  it('every variable the docs, deploy/ and the Dockerfile name is declared', () => {
    const files = [
      'README.md',
      'Dockerfile',
      ...readdirSync(join(PACKAGE_ROOT, 'docs'))
        .filter((f) => f.endsWith('.md') || f.endsWith('.yaml'))
        .map((f) => `docs/${f}`),
      'deploy/compose/docker-compose.yml',
      'deploy/k8s/imeiflow.yaml',
    ];
    // The service's settings, and the variables the tools (simulation, benchmarks, tests) read
    // where they are used; a name the docs give that nothing reads is a stale one.
    const known = new Set([...variables.map((v) => v.name), 'IMEIFLOW_CONFIG', ...toolVariables()]);
    const unknown = files.flatMap((file) =>
      [...read(file).matchAll(/\b(IMEIFLOW_[A-Z_]*[A-Z]|KAFKA_BROKERS)\b/g)]
        .map((m) => m[1]!)
        .filter((name) => !known.has(name))
        .map((name) => `${file}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("the workers get exactly the settings declared as read by them, in the configuration's shape", () => {
    const config = loadConfig({ env: {} });
    const workers = structuredClone(workerSettings(config).config);
    const valueAt = (value: unknown, path: readonly string[]): unknown =>
      path.reduce<unknown>(
        (node, key) =>
          typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined,
        value,
      );
    const got = declared
      .filter(({ path }) => valueAt(workers, path) !== undefined)
      .map(({ path }) => path.join('.'));
    const declaredForWorkers = declared
      .filter(({ setting }) => setting.readBy.includes('workers'))
      .map(({ path }) => path.join('.'));
    expect(got.sort()).toEqual(declaredForWorkers.sort());
    for (const path of declaredForWorkers) {
      const at = path.split('.');
      expect(valueAt(workers, at), path).toEqual(valueAt(config, at));
    }
    // Nothing but declared settings, in their sections: every leaf sits under a declared path.
    const leaves = (value: unknown, path: string[]): string[] =>
      declared.some((d) => d.path.join('.') === path.join('.')) || typeof value !== 'object' || value === null
        ? [path.join('.')]
        : Object.entries(value).flatMap(([key, inner]) => leaves(inner, [...path, key]));
    expect(leaves(workers, []).sort()).toEqual(declaredForWorkers.sort());
  });
});
