/**
 * Configuration: the declared defaults (src/config/settings.ts), then the file named by
 * IMEIFLOW_CONFIG merged over them, then environment variables. Validated once at start-up with
 * zod; every problem is reported in one message that names the variable or file key it came
 * from; the result is frozen.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { type DeadlinePolicy, deadlinePolicyOf } from '../domain/deadline.js';
import type { WorkingCalendar } from '../domain/working-day.js';
import { ImeiflowError, messageOf } from '../errors.js';
import { DEFAULT_CALENDAR_FILE } from '../paths.js';
import {
  defaultsOf,
  type EnvBinding,
  type EnvKind,
  envBindingsOf,
  type Json,
  type JsonObject,
  schemaOf,
} from './define.js';
import { SETTINGS } from './settings.js';

export { calendarSchema, KAFKA_SECRET_PROPERTIES } from './validators.js';

/** The configuration's schema, derived from the settings' declarations (src/config/settings.ts). */
export const configSchema = schemaOf(SETTINGS);

export type Config = z.infer<typeof configSchema>;
export type RetentionConfig = Config['retention'];

/** The defaults, as the JSON an IMEIFLOW_CONFIG file is merged over (frozen: every load clones them). */
export const DEFAULTS: JsonObject = deepFreeze(defaultsOf(SETTINGS));

/** Environment variables and where they land in the config. */
const ENV_VARIABLES: readonly EnvBinding[] = envBindingsOf(SETTINGS);

function readJson(file: string, what: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ImeiflowError('CONFIG_INVALID', `${what} ${file} cannot be read: ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ImeiflowError('CONFIG_INVALID', `${what} ${file} must hold a JSON object`);
  }
  return parsed as JsonObject;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: JsonObject, over: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? merge(current, value) : value;
  }
  return out;
}

function setPath(target: JsonObject, path: readonly string[], value: Json): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (isObject(next)) node = next;
    else {
      const created: JsonObject = {};
      node[key] = created;
      node = created;
    }
  }
  node[path[path.length - 1]!] = value;
}

function envValue(raw: string, kind: EnvKind): Json {
  switch (kind) {
    case 'string':
      return raw;
    case 'boolean': {
      // Keep the raw text when it is not a boolean, so validation names it.
      const word = raw.trim().toLowerCase();
      if (word === 'true' || word === '1') return true;
      if (word === 'false' || word === '0') return false;
      return raw;
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'int':
    case 'nullable-int': {
      if (kind === 'nullable-int' && (raw === '' || raw === 'auto')) return null;
      // Keep the raw text when it is not an integer, so validation names it.
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    }
  }
}

export interface LoadConfigOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly overrides?: JsonObject;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  let merged = structuredClone(DEFAULTS);
  const configFile = env['IMEIFLOW_CONFIG'];
  const sources = new Map<string, string>();
  if (configFile !== undefined && configFile !== '') {
    merged = merge(merged, readJson(resolve(configFile), 'IMEIFLOW_CONFIG file'));
  }
  const fromEnv: JsonObject = {};
  for (const variable of ENV_VARIABLES) {
    const raw = env[variable.name];
    if (raw === undefined || (raw === '' && variable.kind !== 'nullable-int')) continue;
    setPath(fromEnv, variable.path, envValue(raw, variable.kind));
    sources.set(variable.path.join('.'), variable.name);
  }
  merged = merge(merged, fromEnv);
  if (options.overrides !== undefined) merged = merge(merged, options.overrides);
  const calendarFile = withCalendar(merged);

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map(String);
      let where = path.join('.');
      for (let n = path.length; n > 0; n--) {
        const variable = sources.get(path.slice(0, n).join('.'));
        if (variable !== undefined) {
          where = variable;
          break;
        }
      }
      if (!sources.has(path.join('.')) && where === path.join('.')) {
        where =
          path[0] === 'pending' && path[1] === 'calendar'
            ? `calendar ${calendarFile} (or pending.calendar in configuration): ${path.slice(2).join('.')}`
            : `${configFile ? `${configFile}: ` : 'config: '}${where || '(root)'}`;
      }
      // A bad record key (a kafka.security property) carries the reason one level down.
      const message =
        issue.code === 'invalid_key'
          ? `${issue.message}: ${issue.issues.map((inner) => inner.message).join('; ')}`
          : issue.message;
      return `${where}: ${message}`;
    });
    throw new ImeiflowError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return deepFreeze(result.data);
}

/**
 * Put the calendar file under `pending.calendar`, with what configuration set there merged over
 * it (per year, per date), so an operator adds a year or corrects a date without a release.
 * Returns the file read.
 */
function withCalendar(merged: JsonObject): string {
  const pending = isObject(merged['pending']) ? merged['pending'] : {};
  const named = pending['calendarFile'];
  const file = typeof named === 'string' && named !== '' ? resolve(named) : DEFAULT_CALENDAR_FILE;
  const fromFile = readJson(file, 'calendar file');
  const configured = pending['calendar'];
  merged['pending'] = { ...pending, calendar: isObject(configured) ? merge(fromFile, configured) : fromFile };
  return file;
}

/** The working-day calendar the deadlines count with (Astana time). */
export function workingCalendar(config: Config): WorkingCalendar {
  return deadlinePolicy(config).calendar;
}

/** The deadline of every waiting request (src/domain/deadline.ts), as the workers build it too. */
export function deadlinePolicy(config: Config): DeadlinePolicy {
  return deadlinePolicyOf(config.pending);
}

/** The pool size: the configured number, else one worker per core. */
export function workerCount(config: Config): number {
  return config.pool.workers ?? Math.max(1, availableParallelism());
}
