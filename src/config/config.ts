/**
 * Configuration: `config/default.json`, then the file named by IMEIFLOW_CONFIG, then environment
 * variables. Validated once at start-up with zod; every problem is reported in one message that
 * names the variable or file key it came from; the result is frozen.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { type DeadlinePolicy, type DeadlineSettings, deadlinePolicyOf } from '../domain/deadline.js';
import { isValidIinBin } from '../domain/ids.js';
import { CHANNELS } from '../domain/types.js';
import { minuteOfDay, type WorkingCalendar, workingCalendarOf } from '../domain/working-day.js';
import { ImeiflowError, messageOf } from '../errors.js';
import { TOPIC_ROLE_NAMES, TOPIC_ROLES, type TopicRoleName } from '../kafka/topic-roles.js';
import { DEFAULT_CALENDAR_FILE, DEFAULT_CONFIG_FILE } from '../paths.js';
import { ROLES } from '../security/roles.js';

const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const isRealDate = (date: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(date) && new Date(`${date}T00:00:00Z`).toISOString().startsWith(date);
const calendarDate = isoDate.refine(isRealDate, 'must be a real date');
const timeOfDay = z.string().refine((text) => minuteOfDay(text) !== undefined, 'must be a time of day HH:MM');

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
    /**
     * The working hours a working day counts, local time (seed 004: 09:00–19:00 on working days;
     * a filing after hours counts from the next working day).
     */
    workingHours: z
      .strictObject({ start: timeOfDay, end: timeOfDay })
      .refine((h) => (minuteOfDay(h.end) ?? 0) > (minuteOfDay(h.start) ?? 0), {
        message: 'end must come after start',
        path: ['end'],
      })
      .default({ start: '09:00', end: '19:00' }),
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
/** A file to read at start-up (certificates, keys, secrets); null when not used. */
const optionalFile = z.string().min(1).nullable();

/**
 * librdkafka properties whose values are secrets: never in the configuration or environment,
 * only read from the file `kafka.security.secretFiles` names for them (librdkafka marks them
 * sensitive in rdkafka_conf.c).
 */
export const KAFKA_SECRET_PROPERTIES = [
  'sasl.password',
  'ssl.key.password',
  'ssl.keystore.password',
  'ssl.key.pem',
  'sasl.oauthbearer.config',
  'sasl.oauthbearer.client.secret',
  'sasl.oauthbearer.assertion.private.key.passphrase',
  'sasl.oauthbearer.assertion.private.key.pem',
] as const;
const kafkaSecretProperty = z.enum(KAFKA_SECRET_PROPERTIES);

/**
 * TLS and SASL towards the brokers: librdkafka's `security.protocol`, and its `ssl.*` and
 * `sasl.*` properties passed as they are (CONFIGURATION.md), secrets from files.
 */
const kafkaSecurity = z
  .strictObject({
    protocol: z.enum(['plaintext', 'ssl', 'sasl_plaintext', 'sasl_ssl']),
    settings: z.record(
      z
        .string()
        .regex(/^(ssl|sasl)\.[a-z0-9._]+$/, 'must be a librdkafka ssl.* or sasl.* property')
        .refine(
          (key) => !(KAFKA_SECRET_PROPERTIES as readonly string[]).includes(key),
          'is a secret: name a file holding it in kafka.security.secretFiles instead',
        ),
      z.union([z.string(), z.number(), z.boolean()]),
    ),
    secretFiles: z.partialRecord(kafkaSecretProperty, z.string().min(1)),
  })
  .superRefine((security, ctx) => {
    const keys = [...Object.keys(security.settings), ...Object.keys(security.secretFiles)];
    const usesSsl = security.protocol === 'ssl' || security.protocol === 'sasl_ssl';
    const usesSasl = security.protocol.startsWith('sasl_');
    for (const key of keys) {
      if ((key.startsWith('ssl.') && !usesSsl) || (key.startsWith('sasl.') && !usesSasl)) {
        ctx.addIssue({
          code: 'custom',
          path: ['protocol'],
          message: `${key} is set but security.protocol ${security.protocol} does not use it`,
        });
      }
    }
  });

/**
 * HTTPS for the control plane, and client certificates (mutual TLS) for people: a certificate
 * signed by `clientCaFile` whose subject carries `serialNumber=IIN…` (as Kazakh ЭЦП certificates
 * do) acts as the person and role configured for that IIN. Bearer tokens keep working.
 */
const httpTls = z
  .strictObject({
    certFile: optionalFile,
    keyFile: optionalFile,
    /** CA certificates (PEM) that sign the client certificates; null: none are asked for. */
    clientCaFile: optionalFile,
    clientCertificates: z.array(
      z.strictObject({
        iin: z.string().refine(isValidIinBin, 'must be a 12-digit IIN with a valid check digit'),
        name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1–64 of a-z 0-9 . _ -'),
        role: z.enum(ROLES),
      }),
    ),
  })
  .superRefine((tls, ctx) => {
    if ((tls.certFile === null) !== (tls.keyFile === null)) {
      ctx.addIssue({
        code: 'custom',
        path: [tls.certFile === null ? 'certFile' : 'keyFile'],
        message: 'HTTPS needs both a certificate file and a key file',
      });
    }
    if (tls.clientCaFile !== null && tls.certFile === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientCaFile'],
        message: 'client certificates need HTTPS (certFile, keyFile)',
      });
    }
    if (tls.clientCertificates.length > 0 && tls.clientCaFile === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientCertificates'],
        message: 'mapping client certificates needs clientCaFile, the CA that signs them',
      });
    }
    const seen = new Set<string>();
    tls.clientCertificates.forEach((entry, i) => {
      if (seen.has(entry.iin))
        ctx.addIssue({ code: 'custom', path: ['clientCertificates', i, 'iin'], message: 'IIN listed twice' });
      seen.add(entry.iin);
    });
  });

const DAYS_LIMIT = 36_500;

/**
 * Retention per kind of data, in days unless the name says otherwise. The seeds give no terms,
 * only that data is destroyed once its purpose is met (seed 000 §16; seed 001 §23–24): each
 * default is what its purpose needs (README, "Confidential data").
 */
const retentionSchema = z
  .strictObject({
    /** How often the sweep runs; a purge runs one at once. */
    sweepIntervalMs: z.number().int().min(1000).max(86_400_000),
    /**
     * The requests, repartition and commands topics keep messages this long, and final outcomes
     * keep their personal fields as long: a replay of that input re-emits its recorded outcome.
     */
    requestsDays: z.number().int().min(1).max(365),
    /** Final outcomes (reduced to what rule 10 needs) are deleted after this. */
    outcomesDays: z.number().int().min(1).max(DAYS_LIMIT),
    /** imei.verify.results: the operators' copy of every outcome (no owner or phone). */
    resultsDays: z.number().int().min(1).max(DAYS_LIMIT),
    /** imei.verify.dlq: undecodable input, whatever it held. */
    dlqDays: z.number().int().min(1).max(365),
    /** An application's declarations after KGD's latest decision on it; also kgd.release.decisions. */
    declarationsDays: z.number().int().min(1).max(DAYS_LIMIT),
    /** The audit store online (GET /v1/audit); the audit topic and audit.jsonl are the archive. */
    auditDays: z.number().int().min(1).max(DAYS_LIMIT),
    /**
     * segment.ms, delete.retention.ms and max.compaction.lag.ms of the compacted topics that
     * hold personal data (journal, pending changelog, БДИК topics): how soon a superseded record
     * or a tombstone is gone from Kafka.
     */
    compactionLagMs: z
      .number()
      .int()
      .min(60_000)
      .max(30 * 86_400_000),
  })
  .superRefine((retention, ctx) => {
    if (retention.outcomesDays < retention.requestsDays)
      ctx.addIssue({
        code: 'custom',
        path: ['outcomesDays'],
        message: `must be at least requestsDays (${retention.requestsDays}): a replayed request needs its outcome`,
      });
  });

export type RetentionConfig = z.infer<typeof retentionSchema>;

export const configSchema = z.strictObject({
  dataDir: z.string().min(1),
  store: z.strictObject({
    /** A file holding the LMDB encryption key (32 printable ASCII characters); null: not encrypted. */
    encryptionKeyFile: optionalFile,
  }),
  kafka: z.strictObject({
    /** Comma-separated bootstrap servers; null starts the embedded cluster. */
    brokers: z.string().min(1).nullable(),
    clientId: z.string().min(1),
    groupId: z.string().min(1),
    embeddedBrokers: z.number().int().min(1).max(9),
    /** Partitions and replication of topics imeiflow creates on a real cluster. */
    topicPartitions: z.number().int().min(1).max(10_000),
    replicationFactor: z.number().int().min(1).max(10),
    security: kafkaSecurity,
  }),
  /** Topic names by role (src/kafka/topic-roles.ts says what each is for). */
  topics: z.strictObject(
    Object.fromEntries(TOPIC_ROLE_NAMES.map((role) => [role, topicName])) as Record<
      TopicRoleName,
      typeof topicName
    >,
  ),
  http: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(0).max(65535),
    tls: httpTls,
    /** The largest upload the load routes take; counted as the body streams in (src/http/routes/loads.ts). */
    maxUploadBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 ** 3),
  }),
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
     * The ten-digit EAEU HS codes of the devices the exchange covers (seed 000 appendix 1:
     * smartphones, other phones for cellular networks, tablets). A declaration under another code
     * proves nothing (`hs_out_of_scope`) and its IMEIs are not stored.
     */
    hsCodesInScope: z.array(z.string().regex(/^\d{10}$/, 'must be a ten-digit HS code')).min(1),
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
    /**
     * A request's deadline, end to end from receipt, in working days counted in working hours
     * (seed 000 §10: one working day). Waiting for KGD and a reviewer's work both come out of it.
     */
    deadlineWorkingDays: z.number().int().min(0).max(30),
    /**
     * The working minutes a reviewer always gets once a request is theirs, even when waiting for
     * KGD used up the deadline: KGD's wait ends this long before the deadline.
     */
    reviewMinimumWorkingMinutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60),
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
  security: z.strictObject({
    tokenIdleDays: z.number().int().min(1).max(3650),
    /**
     * Refused requests (authentication or role) an account may make within `refusalWindowMs`
     * before it is blocked until an admin unblocks it (seed 001 §19; src/security/access-refusals.ts).
     */
    refusalLimit: z.number().int().min(1).max(10_000),
    refusalWindowMs: z.number().int().min(1000).max(86_400_000),
  }),
  /** How long each kind of data is kept (README, "Confidential data"; src/retention/). */
  retention: retentionSchema,
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) }),
});

/** Rules across sections of the configuration. */
const checkedConfigSchema = configSchema.superRefine((config, ctx) => {
  if (config.kafka.brokers === null && config.kafka.security.protocol !== 'plaintext') {
    ctx.addIssue({
      code: 'custom',
      path: ['kafka', 'security', 'protocol'],
      message: 'the embedded cluster speaks plaintext only: set KAFKA_BROKERS to use TLS or SASL',
    });
  }
});

export type Config = z.infer<typeof configSchema>;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

type EnvKind = 'string' | 'int' | 'nullable-int' | 'list' | 'boolean';

const KAFKA_SETTINGS = ['kafka', 'security', 'settings'] as const;
const KAFKA_SECRETS = ['kafka', 'security', 'secretFiles'] as const;

/** Environment variables and where they land in the config. */
const ENV_VARIABLES: readonly {
  name: string;
  path: readonly string[];
  kind: EnvKind;
}[] = [
  { name: 'KAFKA_BROKERS', path: ['kafka', 'brokers'], kind: 'string' },
  { name: 'IMEIFLOW_KAFKA_GROUP', path: ['kafka', 'groupId'], kind: 'string' },
  { name: 'IMEIFLOW_KAFKA_SECURITY_PROTOCOL', path: ['kafka', 'security', 'protocol'], kind: 'string' },
  { name: 'IMEIFLOW_KAFKA_SSL_CA_LOCATION', path: [...KAFKA_SETTINGS, 'ssl.ca.location'], kind: 'string' },
  {
    name: 'IMEIFLOW_KAFKA_SSL_CERTIFICATE_LOCATION',
    path: [...KAFKA_SETTINGS, 'ssl.certificate.location'],
    kind: 'string',
  },
  { name: 'IMEIFLOW_KAFKA_SSL_KEY_LOCATION', path: [...KAFKA_SETTINGS, 'ssl.key.location'], kind: 'string' },
  {
    name: 'IMEIFLOW_KAFKA_SSL_KEY_PASSWORD_FILE',
    path: [...KAFKA_SECRETS, 'ssl.key.password'],
    kind: 'string',
  },
  { name: 'IMEIFLOW_KAFKA_SASL_MECHANISM', path: [...KAFKA_SETTINGS, 'sasl.mechanisms'], kind: 'string' },
  { name: 'IMEIFLOW_KAFKA_SASL_USERNAME', path: [...KAFKA_SETTINGS, 'sasl.username'], kind: 'string' },
  { name: 'IMEIFLOW_KAFKA_SASL_PASSWORD_FILE', path: [...KAFKA_SECRETS, 'sasl.password'], kind: 'string' },
  { name: 'IMEIFLOW_DATA_DIR', path: ['dataDir'], kind: 'string' },
  { name: 'IMEIFLOW_STORE_ENCRYPTION_KEY_FILE', path: ['store', 'encryptionKeyFile'], kind: 'string' },
  { name: 'IMEIFLOW_HTTP_PORT', path: ['http', 'port'], kind: 'int' },
  { name: 'IMEIFLOW_HTTP_HOST', path: ['http', 'host'], kind: 'string' },
  { name: 'IMEIFLOW_HTTP_TLS_CERT_FILE', path: ['http', 'tls', 'certFile'], kind: 'string' },
  { name: 'IMEIFLOW_HTTP_TLS_KEY_FILE', path: ['http', 'tls', 'keyFile'], kind: 'string' },
  { name: 'IMEIFLOW_HTTP_TLS_CLIENT_CA_FILE', path: ['http', 'tls', 'clientCaFile'], kind: 'string' },
  { name: 'IMEIFLOW_HTTP_MAX_UPLOAD_BYTES', path: ['http', 'maxUploadBytes'], kind: 'int' },
  { name: 'IMEIFLOW_REFUSAL_LIMIT', path: ['security', 'refusalLimit'], kind: 'int' },
  { name: 'IMEIFLOW_REFUSAL_WINDOW_MS', path: ['security', 'refusalWindowMs'], kind: 'int' },
  { name: 'IMEIFLOW_WORKERS', path: ['pool', 'workers'], kind: 'nullable-int' },
  { name: 'IMEIFLOW_LOG_LEVEL', path: ['log', 'level'], kind: 'string' },
  { name: 'IMEIFLOW_ELIGIBLE_PROCEDURES', path: ['rules', 'eligibleProcedures'], kind: 'list' },
  { name: 'IMEIFLOW_ACCEPT_EAEU_IMPORTS', path: ['rules', 'acceptEaeuImports'], kind: 'boolean' },
  { name: 'IMEIFLOW_HS_CODES_IN_SCOPE', path: ['rules', 'hsCodesInScope'], kind: 'list' },
  { name: 'IMEIFLOW_SPARE_DIGIT_OPERATORS', path: ['rules', 'spareDigit', 'operators'], kind: 'list' },
  { name: 'IMEIFLOW_SPARE_DIGIT_CHANNELS', path: ['rules', 'spareDigit', 'channels'], kind: 'list' },
  {
    name: 'IMEIFLOW_REVIEW_MINIMUM_WORKING_MINUTES',
    path: ['pending', 'reviewMinimumWorkingMinutes'],
    kind: 'int',
  },
  { name: 'IMEIFLOW_CALENDAR_FILE', path: ['pending', 'calendarFile'], kind: 'string' },
  { name: 'IMEIFLOW_HOLIDAYS', path: ['pending', 'holidays'], kind: 'list' },
  { name: 'IMEIFLOW_WORKING_DAYS', path: ['pending', 'workingDays'], kind: 'list' },
  { name: 'IMEIFLOW_BATCH_MAX_MESSAGES', path: ['pipeline', 'batchMaxMessages'], kind: 'int' },
  ...(
    [
      ['SWEEP_INTERVAL_MS', 'sweepIntervalMs'],
      ['REQUESTS_DAYS', 'requestsDays'],
      ['OUTCOMES_DAYS', 'outcomesDays'],
      ['RESULTS_DAYS', 'resultsDays'],
      ['DLQ_DAYS', 'dlqDays'],
      ['DECLARATIONS_DAYS', 'declarationsDays'],
      ['AUDIT_DAYS', 'auditDays'],
      ['COMPACTION_LAG_MS', 'compactionLagMs'],
    ] as const
  ).map(([suffix, key]) => ({
    name: `IMEIFLOW_RETENTION_${suffix}`,
    path: ['retention', key] as const,
    kind: 'int' as const,
  })),
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

  const result = checkedConfigSchema.safeParse(merged);
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
  const { pending } = config;
  return workingCalendarOf(pending.calendar, pending, pending.utcOffsetMinutes);
}

/** The deadline policy as plain data (for worker threads): the calendar's dates and hours resolved. */
export function deadlineSettings(config: Config): DeadlineSettings {
  const { pending } = config;
  const calendar = workingCalendar(config);
  return {
    workingDays: pending.deadlineWorkingDays,
    reviewMinimumMinutes: pending.reviewMinimumWorkingMinutes,
    utcOffsetMinutes: pending.utcOffsetMinutes,
    holidays: [...calendar.holidays],
    workingDates: [...(calendar.workingDays ?? [])],
    workingHours: pending.calendar.workingHours,
  };
}

/** The deadline of every waiting request (src/domain/deadline.ts). */
export function deadlinePolicy(config: Config): DeadlinePolicy {
  return deadlinePolicyOf(deadlineSettings(config));
}

/** The pool size: the configured number, else one worker per core. */
export function workerCount(config: Config): number {
  return config.pool.workers ?? Math.max(1, availableParallelism());
}
