/**
 * The validation the settings' declarations (src/config/settings.ts) share or need beyond a
 * one-line zod schema: topic names, calendar dates, the working-day calendar, the Kafka security
 * properties, client certificates, and the rules across the settings of one section.
 */
import { z } from 'zod';
import { isValidIinBin } from '../domain/ids.js';
import { minuteOfDay } from '../domain/working-day.js';
import { collidingOperators } from '../pool/result-tenants.js';
import { ROLES } from '../security/roles.js';
import { OPERATOR_CODE } from '../security/tenancy.js';

/** Where a rule across settings reports a problem (zod's refinement context). */
export interface IssueSink {
  addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void;
}

/** An integer within bounds (the settings' most common type). */
export const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const isRealDate = (date: string) =>
  /^\d{4}-\d{2}-\d{2}$/.test(date) && new Date(`${date}T00:00:00Z`).toISOString().startsWith(date);
export const calendarDate = isoDate.refine(isRealDate, 'must be a real date');
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
export const optionalFile = z.string().min(1).nullable();

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

/** librdkafka `ssl.*` and `sasl.*` properties as they are (CONFIGURATION.md), secrets refused. */
export const kafkaProperties = z.record(
  z
    .string()
    .regex(/^(ssl|sasl)\.[a-z0-9._]+$/, 'must be a librdkafka ssl.* or sasl.* property')
    .refine(
      (key) => !(KAFKA_SECRET_PROPERTIES as readonly string[]).includes(key),
      'is a secret: name a file holding it in kafka.security.secretFiles instead',
    ),
  z.union([z.string(), z.number(), z.boolean()]),
);

export const kafkaSecretFiles = z.partialRecord(z.enum(KAFKA_SECRET_PROPERTIES), z.string().min(1));

/** A property of a protocol the connection does not use is a mistake, not a no-op. */
export function checkKafkaSecurity(
  security: { protocol: string; settings: object; secretFiles: object },
  ctx: IssueSink,
): void {
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
}

/** A person with a client certificate: its subject's IIN, acting as this name and role. */
export const clientCertificate = z
  .strictObject({
    iin: z.string().refine(isValidIinBin, 'must be a 12-digit IIN with a valid check digit'),
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1–64 of a-z 0-9 . _ -'),
    role: z.enum(ROLES),
    /** The operator an `operator` holder acts for (src/security/tenancy.ts); without it, unbound. */
    operator: z
      .string()
      .regex(OPERATOR_CODE, 'must be an operator code: 1–64 of A-Z a-z 0-9 . _ -')
      .optional(),
  })
  .refine((entry) => entry.operator === undefined || entry.role === 'operator', {
    path: ['operator'],
    message: 'only a holder of role operator acts for an operator',
  });

/** HTTPS needs a certificate and its key; client certificates need HTTPS and the CA that signs them. */
export function checkHttpTls(
  tls: {
    certFile: string | null;
    keyFile: string | null;
    clientCaFile: string | null;
    clientCertificates: readonly { iin: string }[];
  },
  ctx: IssueSink,
): void {
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
}

/** An operator's name as requests carry it (`operator`), and as it goes into a topic name. */
export const operatorCode = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-" (it names a topic)');

/** Where each operator's results go: `{operator}` stands for its name. */
export const resultsTopicPattern = z
  .string()
  .refine((pattern) => pattern.includes('{operator}'), 'must contain {operator}')
  .refine(
    (pattern) => topicName.safeParse(pattern.replace('{operator}', 'x')).success,
    'must make a Kafka topic name (letters, digits, ".", "_", "-")',
  );

/** Two operators whose results would share a topic are refused (src/pool/result-tenants.ts). */
export function checkResults(results: { operators: readonly string[] }, ctx: IssueSink): void {
  const colliding = collidingOperators(results.operators);
  if (colliding !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['operators'],
      message: `${colliding[0]} and ${colliding[1]} have the same tenant code: rename one of them`,
    });
}

/** A replayed request needs its outcome for as long as the requests topic keeps the request. */
export function checkRetention(
  retention: { requestsDays: number; outcomesDays: number },
  ctx: IssueSink,
): void {
  if (retention.outcomesDays < retention.requestsDays)
    ctx.addIssue({
      code: 'custom',
      path: ['outcomesDays'],
      message: `must be at least requestsDays (${retention.requestsDays}): a replayed request needs its outcome`,
    });
}

/** Rules across sections of the configuration. */
export function checkConfig(
  config: { kafka: { brokers: string | null; security: { protocol: string } } },
  ctx: IssueSink,
): void {
  if (config.kafka.brokers === null && config.kafka.security.protocol !== 'plaintext') {
    ctx.addIssue({
      code: 'custom',
      path: ['kafka', 'security', 'protocol'],
      message: 'the embedded cluster speaks plaintext only: set KAFKA_BROKERS to use TLS or SASL',
    });
  }
}
