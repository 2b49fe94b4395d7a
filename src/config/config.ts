/**
 * Configuration: `config/default.json`, then the file named by IMEIFLOW_CONFIG, then environment
 * variables. Validated once at start-up with zod; every problem is reported in one message that
 * names the variable or file key it came from; the result is frozen.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { CHANNELS } from '../domain/types.js';
import { type WorkingCalendar, workingCalendarOf } from '../domain/working-day.js';
import { ImeiflowError, messageOf } from '../errors.js';
import { TOPIC_ROLE_NAMES, TOPIC_ROLES, type TopicRoleName } from '../kafka/topic-roles.js';
import { DEFAULT_CALENDAR_FILE, DEFAULT_CONFIG_FILE } from '../paths.js';

const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const isRealDate = (date: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(date) && new Date(`${date}T00:00:00Z`).toISOString().startsWith(date);
const calendarDate = isoDate.refine(isRealDate, 'must be a real date');

/** One year of the working-day calendar: what it needs and where it comes from. */
const calendarYear = z.strictObject({
  /** Every date the year needs is known from an official source. */
  complete: z.boolean().default(false),
  /** What an incomplete year lacks. */
  missing: z.string().optional(),
  sources: z.array(z.string()).default([]),
  /** Local date → why it is a day off. */
  daysOff: z.record(z.string(), z.string()).default({}),
  /** Local date → why it is a working day (a weekend day a decree made one, or a day off cancelled). */
  workingDays: z.record(z.string(), z.string()).default({}),
});

/** `config/calendar/kz.json`, and `pending.calendar` merged over it per year and per date. */
export const calendarSchema = z
  .strictObject({
    $comment: z.array(z.string()).optional(),
    country: z.string().min(1),
    years: z.record(z.string().regex(/^\d{4}$/, 'must be a year'), calendarYear),
  })
  .superRefine((calendar, ctx) => {
    for (const [year, data] of Object.entries(calendar.years)) {
      for (const list of ['daysOff', 'workingDays'] as const) {
        for (const date of Object.keys(data[list])) {
          // Keys are checked here, not by the record's key schema, so every bad date is named.
          const problem = !isRealDate(date)
            ? 'must be a real date YYYY-MM-DD'
            : date.startsWith(`${year}-`)
              ? undefined
              : `is not in ${year}`;
          if (problem !== undefined)
            ctx.addIssue({ code: 'custom', path: ['years', year, list, date], message: problem });
        }
      }
    }
  });

export const configSchema = z.strictObject({
  dataDir: z.string().min(1),
  kafka: z.strictObject({
    /** Comma-separated bootstrap servers; null starts the embedded cluster. */
    brokers: z.string().min(1).nullable(),
    clientId: z.string().min(1),
    groupId: z.string().min(1),
    embeddedBrokers: z.number().int().min(1).max(9),
    /** Partitions and replication of topics imeiflow creates on a real cluster. */
    topicPartitions: z.number().int().min(1).max(10_000),
    replicationFactor: z.number().int().min(1).max(10),
  }),
  /** Topic names by role (src/kafka/topic-roles.ts says what each is for). */
  topics: z.strictObject(
    Object.fromEntries(TOPIC_ROLE_NAMES.map((role) => [role, topicName])) as Record<
      TopicRoleName,
      typeof topicName
    >,
  ),
  http: z.strictObject({ host: z.string().min(1), port: z.number().int().min(0).max(65535) }),
  pool: z.strictObject({
    /** null: one per CPU core, at least 1. */
    workers: z.number().int().min(1).max(64).nullable(),
    maxQueuedBatchesPerWorker: z.number().int().min(1).max(64),
  }),
  pipeline: z.strictObject({
    batchMaxMessages: z.number().int().min(1).max(65536),
    batchMaxWaitMs: z.number().int().min(0).max(10_000),
    maxMessageBytes: z
      .number()
      .int()
      .min(256)
      .max(16 * 1024 * 1024),
  }),
  rules: z.strictObject({
    eligibleProcedures: z.array(z.string().regex(/^\d{2}$/, 'must be a two-digit procedure code')).min(1),
    /**
     * KGD's records of imports from other EAEU member states (no customs procedure) prove legal
     * entry: seed 000 §4(6) counts them among the import operations KGD confirms (§8).
     */
    acceptEaeuImports: z.boolean(),
    /**
     * Operators and channels that send IMEIs from network signalling, whose 15th digit may be a
     * spare 0 instead of the check digit (3GPP TS 23.003 §6.2.1). Empty: the strict check for all.
     */
    spareDigit: z.strictObject({
      operators: z.array(z.string().min(1).max(64)),
      channels: z.array(z.enum(CHANNELS)),
    }),
  }),
  pending: z.strictObject({
    deadlineWorkingDays: z.number().int().min(0).max(30),
    /** Astana time is UTC+5 all year since 1 March 2024. */
    utcOffsetMinutes: z.number().int().min(-720).max(840),
    /** The calendar file; null: the shipped `config/calendar/kz.json`. */
    calendarFile: z.string().min(1).nullable(),
    /** The calendar file's content with configuration's `pending.calendar` merged over it. */
    calendar: calendarSchema,
    /** Days off added to the calendar. */
    holidays: z.array(calendarDate),
    /** Working days added to the calendar (they win over any day off). */
    workingDays: z.array(calendarDate),
    checkIntervalMs: z.number().int().min(100).max(3_600_000),
  }),
  security: z.strictObject({ tokenIdleDays: z.number().int().min(1).max(3650) }),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) }),
});

export type Config = z.infer<typeof configSchema>;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

type EnvKind = 'string' | 'int' | 'nullable-int' | 'list' | 'boolean';

/** Environment variables and where they land in the config. */
const ENV_VARIABLES: readonly {
  name: string;
  path: readonly string[];
  kind: EnvKind;
}[] = [
  { name: 'KAFKA_BROKERS', path: ['kafka', 'brokers'], kind: 'string' },
  { name: 'IMEIFLOW_KAFKA_GROUP', path: ['kafka', 'groupId'], kind: 'string' },
  { name: 'IMEIFLOW_DATA_DIR', path: ['dataDir'], kind: 'string' },
  { name: 'IMEIFLOW_HTTP_PORT', path: ['http', 'port'], kind: 'int' },
  { name: 'IMEIFLOW_HTTP_HOST', path: ['http', 'host'], kind: 'string' },
  { name: 'IMEIFLOW_WORKERS', path: ['pool', 'workers'], kind: 'nullable-int' },
  { name: 'IMEIFLOW_LOG_LEVEL', path: ['log', 'level'], kind: 'string' },
  { name: 'IMEIFLOW_ELIGIBLE_PROCEDURES', path: ['rules', 'eligibleProcedures'], kind: 'list' },
  { name: 'IMEIFLOW_ACCEPT_EAEU_IMPORTS', path: ['rules', 'acceptEaeuImports'], kind: 'boolean' },
  { name: 'IMEIFLOW_SPARE_DIGIT_OPERATORS', path: ['rules', 'spareDigit', 'operators'], kind: 'list' },
  { name: 'IMEIFLOW_SPARE_DIGIT_CHANNELS', path: ['rules', 'spareDigit', 'channels'], kind: 'list' },
  { name: 'IMEIFLOW_CALENDAR_FILE', path: ['pending', 'calendarFile'], kind: 'string' },
  { name: 'IMEIFLOW_HOLIDAYS', path: ['pending', 'holidays'], kind: 'list' },
  { name: 'IMEIFLOW_WORKING_DAYS', path: ['pending', 'workingDays'], kind: 'list' },
  { name: 'IMEIFLOW_BATCH_MAX_MESSAGES', path: ['pipeline', 'batchMaxMessages'], kind: 'int' },
  ...TOPIC_ROLE_NAMES.map((role) => ({
    name: TOPIC_ROLES[role].env,
    path: ['topics', role] as const,
    kind: 'string' as const,
  })),
];

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
  let merged = readJson(DEFAULT_CONFIG_FILE, 'default configuration');
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
      return `${where}: ${issue.message}`;
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
  const { pending } = config;
  return workingCalendarOf(pending.calendar, pending, pending.utcOffsetMinutes);
}

/** The pool size: the configured number, else one worker per core. */
export function workerCount(config: Config): number {
  return config.pool.workers ?? Math.max(1, availableParallelism());
}
