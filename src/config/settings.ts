/**
 * Every setting, declared once (src/config/define.ts): its path, type and validation, default,
 * environment variables, description and readers (the connections' in connection-settings.ts, the
 * pipeline's and its workers' in pipeline-settings.ts).
 * src/config/config.ts derives the schema, the defaults and the environment parsing from here;
 * `npm run docs:config` writes the table of docs/configuration.md (test/unit/generated-files.test.ts
 * fails when it is stale).
 */
import { z } from 'zod';
import { CHANNELS } from '../domain/types.js';
import {
  INPUT_ROLES,
  type InputRole,
  TOPIC_ROLE_NAMES,
  TOPIC_ROLES,
  type TopicRoleName,
} from '../kafka/topic-roles.js';
import { http, kafka, store } from './connection-settings.js';
import { type Setting, section, setting } from './define.js';
import { pipeline, pool } from './pipeline-settings.js';
import {
  calendarDate,
  calendarSchema,
  checkConfig,
  checkResults,
  checkRetention,
  int,
  operatorCode,
  optionalFile,
  resultsTopicPattern,
  topicName,
} from './validators.js';

const DAYS_LIMIT = 36_500;
const TOPIC_READERS = ['service', 'topic creation'] as const;
// The workers name the input topics in the dead letters they write.
const INPUT_TOPIC_READERS = [...TOPIC_READERS, 'workers'] as const;
/** One setting per topic role: its declaration (src/kafka/topic-roles.ts) gives name, variable and purpose. */
const topics = section(
  Object.fromEntries(
    TOPIC_ROLE_NAMES.map((role) => [
      role,
      setting({
        schema: topicName,
        default: TOPIC_ROLES[role].name,
        env: TOPIC_ROLES[role].env,
        doc: `Topic: ${TOPIC_ROLES[role].about} (docs/topics.md).`,
        readBy: (INPUT_ROLES as readonly TopicRoleName[]).includes(role)
          ? INPUT_TOPIC_READERS
          : TOPIC_READERS,
      }),
    ]),
  ) as {
    readonly [R in TopicRoleName]: Setting<
      typeof topicName,
      R extends InputRole ? typeof INPUT_TOPIC_READERS : typeof TOPIC_READERS
    >;
  },
);

const rules = section({
  eligibleProcedures: setting({
    schema: z.array(z.string().regex(/^\d{2}$/, 'must be a two-digit procedure code')).min(1),
    default: ['40', '53', '60', '94'],
    env: 'IMEIFLOW_ELIGIBLE_PROCEDURES',
    doc: 'Customs procedures whose release proves legal entry (seed 000 §8).',
    readBy: ['workers', 'control plane'],
  }),
  acceptEaeuImports: setting({
    schema: z.boolean(),
    default: true,
    env: 'IMEIFLOW_ACCEPT_EAEU_IMPORTS',
    doc:
      "KGD's records of imports from other EAEU member states (no customs procedure) prove legal entry " +
      '(evidence `eaeu-import`): seed 000 §4(6) counts them among the import operations KGD confirms (§8).',
    readBy: ['workers', 'control plane'],
  }),
  hsCodesInScope: setting({
    schema: z.array(z.string().regex(/^\d{10}$/, 'must be a ten-digit HS code')).min(1),
    default: ['8517130000', '8517140000', '8471300000'],
    env: 'IMEIFLOW_HS_CODES_IN_SCOPE',
    doc:
      'The ten-digit EAEU HS codes of the devices the exchange covers (seed 000 appendix 1: smartphones, ' +
      'other phones for cellular networks, tablets); a declaration under another code proves nothing ' +
      '(`hs_out_of_scope`) and its IMEIs are not stored.',
    readBy: ['workers', 'control plane', 'global tables'],
  }),
  /**
   * Operators and channels that send IMEIs from network signalling, whose 15th digit may be a
   * spare 0 instead of the check digit (3GPP TS 23.003 §6.2.1). Empty: the strict check for all.
   */
  spareDigit: section({
    operators: setting({
      schema: z.array(z.string().min(1).max(64)),
      default: [],
      env: 'IMEIFLOW_SPARE_DIGIT_OPERATORS',
      doc: 'Operators that send network-derived IMEIs, whose 15th digit may be a spare 0 (3GPP TS 23.003 §6.2.1).',
      readBy: ['workers', 'control plane'],
    }),
    channels: setting({
      schema: z.array(z.enum(CHANNELS)),
      default: [],
      env: 'IMEIFLOW_SPARE_DIGIT_CHANNELS',
      doc: 'Channels that send network-derived IMEIs (a spare 0 for a check digit).',
      readBy: ['workers', 'control plane'],
    }),
  }),
});

/** What a request's deadline counts with (src/domain/deadline.ts): the workers get it resolved. */
const DEADLINE_READERS = ['workers', 'control plane', 'metrics'] as const;

const pending = section({
  deadlineWorkingDays: setting({
    schema: int(0, 30),
    default: 1,
    env: 'IMEIFLOW_DEADLINE_WORKING_DAYS',
    doc:
      "A request's deadline, end to end from receipt, in working days counted in working hours " +
      "(seed 000 §10: one working day); waiting for KGD and a reviewer's work both come out of it.",
    readBy: DEADLINE_READERS,
  }),
  reviewMinimumWorkingMinutes: setting({
    schema: int(0, 7 * 24 * 60),
    default: 120,
    env: 'IMEIFLOW_REVIEW_MINIMUM_WORKING_MINUTES',
    doc:
      'The working minutes a reviewer always gets once a request is theirs, even when waiting for KGD ' +
      "used up the deadline: KGD's wait ends this long before the deadline.",
    readBy: DEADLINE_READERS,
  }),
  utcOffsetMinutes: setting({
    schema: int(-720, 840),
    default: 300,
    doc: 'Local time of the deadlines, the review page and KGD months; Astana is UTC+5 all year since 1 March 2024.',
    readBy: [...DEADLINE_READERS, 'CLI'],
  }),
  calendarFile: setting({
    schema: z.string().min(1).nullable(),
    default: null,
    env: 'IMEIFLOW_CALENDAR_FILE',
    doc: 'The working-day calendar file; null: the shipped `config/calendar/kz.json`.',
    // Read as the configuration loads: the workers get `pending.calendar`.
    readBy: ['configuration'],
  }),
  calendar: setting({
    schema: calendarSchema,
    doc:
      "The calendar file's content, with what configuration sets here merged over it per year and per " +
      'date: an operator adds a year or corrects a date without a release.',
    readBy: DEADLINE_READERS,
    type: 'calendar (config/calendar/kz.json)',
  }),
  holidays: setting({
    schema: z.array(calendarDate),
    default: [],
    env: 'IMEIFLOW_HOLIDAYS',
    doc: 'Days off added to the calendar (YYYY-MM-DD).',
    readBy: DEADLINE_READERS,
  }),
  workingDays: setting({
    schema: z.array(calendarDate),
    default: [],
    env: 'IMEIFLOW_WORKING_DAYS',
    doc: 'Working days added to the calendar (they win over any day off).',
    readBy: DEADLINE_READERS,
  }),
  checkIntervalMs: setting({
    schema: int(100, 3_600_000),
    default: 60_000,
    doc: "How often the owner of a partition looks for waiting requests past their stage's deadline.",
    readBy: ['deadline timer'],
  }),
});

const security = section({
  tokenIdleDays: setting({
    schema: int(1, 3650),
    default: 60,
    doc: 'A token account or client-certificate holder unused this long is blocked (seed 001 §14).',
    readBy: ['control plane', 'CLI'],
  }),
  refusalLimit: setting({
    schema: int(1, 10_000),
    default: 10,
    env: 'IMEIFLOW_REFUSAL_LIMIT',
    doc:
      'Refused requests (authentication or role) an account may make within `refusalWindowMs` before it is ' +
      'blocked until an admin unblocks it (seed 001 §19).',
    readBy: ['control plane'],
  }),
  refusalWindowMs: setting({
    schema: int(1000, 86_400_000),
    default: 600_000,
    env: 'IMEIFLOW_REFUSAL_WINDOW_MS',
    doc: 'The window `refusalLimit` counts in.',
    readBy: ['control plane'],
  }),
  dryRunLimit: setting({
    schema: int(1, 100_000),
    default: 60,
    env: 'IMEIFLOW_DRY_RUN_LIMIT',
    doc:
      'Dry runs (POST /v1/verify) an account may make within `dryRunWindowMs` on one instance; past it they ' +
      'are refused `rate-limited` (429): a dry run reads the registry, and guessing owners must not scale.',
    readBy: ['control plane'],
  }),
  dryRunWindowMs: setting({
    schema: int(1000, 86_400_000),
    default: 3_600_000,
    env: 'IMEIFLOW_DRY_RUN_WINDOW_MS',
    doc: 'The window `dryRunLimit` counts in.',
    readBy: ['control plane'],
  }),
  clusterKeyFile: setting({
    schema: optionalFile,
    default: null,
    env: 'IMEIFLOW_CLUSTER_KEY_FILE',
    doc:
      'The cluster key: a file of keys, one a line, the first signing and every one verifying the events of the ' +
      'tokens and audit topics (HMAC-SHA-256; an unsigned or wrongly signed one is refused). Read at start-up, never ' +
      'logged. null: on the embedded cluster `<data dir>/cluster.key`, made on first start; with KAFKA_BROKERS set ' +
      'it is required (docs/control-plane.md, "Internal topics carry proof").',
    readBy: ['service', 'CLI'],
  }),
  unsignedBefore: section({
    tokens: setting({
      schema: int(0, Number.MAX_SAFE_INTEGER),
      default: 0,
      env: 'IMEIFLOW_UNSIGNED_TOKENS_BEFORE',
      doc:
        'Events of the tokens topic below this offset were written before the cluster signed them and are accepted ' +
        'unsigned; 0: none is. Set once when upgrading a cluster (docs/operations.md).',
      readBy: ['global tables', 'CLI'],
    }),
    audit: setting({
      schema: int(0, Number.MAX_SAFE_INTEGER),
      default: 0,
      env: 'IMEIFLOW_UNSIGNED_AUDIT_BEFORE',
      doc: 'The same for the audit topic.',
      readBy: ['global tables', 'CLI'],
    }),
  }),
});

/**
 * Retention per kind of data, in days unless the name says otherwise. The seeds give no terms,
 * only that data is destroyed once its purpose is met (seed 000 §16; seed 001 §23–24): each
 * default is what its purpose needs (docs/confidential-data.md).
 */
const days = (max: number) => int(1, max);
const RETENTION_READERS = ['retention sweep', 'topic creation'] as const;
const retention = section(
  {
    sweepIntervalMs: setting({
      schema: int(1000, 86_400_000),
      default: 3_600_000,
      env: 'IMEIFLOW_RETENTION_SWEEP_INTERVAL_MS',
      doc: 'How often the retention sweep runs; a purge runs one at once.',
      readBy: ['retention sweep'],
    }),
    requestsDays: setting({
      schema: days(365),
      default: 7,
      env: 'IMEIFLOW_RETENTION_REQUESTS_DAYS',
      doc:
        'The requests, repartition and commands topics keep messages this long, and final outcomes keep ' +
        'their personal fields as long: a replay of that input re-emits its recorded outcome.',
      readBy: RETENTION_READERS,
    }),
    outcomesDays: setting({
      schema: days(DAYS_LIMIT),
      default: 90,
      env: 'IMEIFLOW_RETENTION_OUTCOMES_DAYS',
      doc: 'Final outcomes (reduced to what rule 10 needs) are deleted after this; at least `requestsDays`.',
      readBy: ['retention sweep'],
    }),
    resultsDays: setting({
      schema: days(DAYS_LIMIT),
      default: 30,
      env: 'IMEIFLOW_RETENTION_RESULTS_DAYS',
      doc: "imei.verify.results: the operators' copy of every outcome (no owner or phone).",
      readBy: ['topic creation'],
    }),
    dlqDays: setting({
      schema: days(365),
      default: 7,
      env: 'IMEIFLOW_RETENTION_DLQ_DAYS',
      doc: 'imei.verify.dlq: undecodable input, whatever it held.',
      readBy: ['topic creation'],
    }),
    declarationsDays: setting({
      schema: days(DAYS_LIMIT),
      default: 1095,
      env: 'IMEIFLOW_RETENTION_DECLARATIONS_DAYS',
      doc: "An application's declarations after KGD's latest decision on it; also kgd.release.decisions.",
      readBy: RETENTION_READERS,
    }),
    auditDays: setting({
      schema: days(DAYS_LIMIT),
      default: 365,
      env: 'IMEIFLOW_RETENTION_AUDIT_DAYS',
      doc: 'The audit store online (GET /v1/audit); the audit topic and audit.jsonl are the archive.',
      readBy: ['retention sweep'],
    }),
    compactionLagMs: setting({
      schema: int(60_000, 30 * 86_400_000),
      default: 86_400_000,
      env: 'IMEIFLOW_RETENTION_COMPACTION_LAG_MS',
      doc:
        '`segment.ms`, `delete.retention.ms` and `max.compaction.lag.ms` of the compacted topics that hold ' +
        'personal data (journal, pending changelog, БДИК topics): how soon a superseded record or a tombstone ' +
        "is gone from Kafka. A partition's local copy older than half of it is restored whole.",
      readBy: ['topic creation', 'request pipeline'],
    }),
  },
  checkRetention,
);

/**
 * Operators are tenants (DESIGN.md §4): each one's results go to a topic of its own, so Kafka ACLs
 * can give each operator only its own (docs/topics.md, deploy/kafka/acls.sh).
 */
const results = section(
  {
    perOperator: setting({
      schema: z.boolean(),
      default: true,
      env: 'IMEIFLOW_RESULTS_PER_OPERATOR',
      doc: 'Each operator of `results.operators` gets its results on a topic of its own (`results.topicPattern`); false: every result on `topics.results`.',
      readBy: ['workers', 'service', 'topic creation'],
    }),
    topicPattern: setting({
      schema: resultsTopicPattern,
      default: 'imei.verify.results.{operator}',
      env: 'IMEIFLOW_RESULTS_TOPIC_PATTERN',
      doc: 'The results topic of an operator, `{operator}` its name as requests carry it.',
      readBy: ['service', 'topic creation'],
    }),
    operators: setting({
      schema: z.array(operatorCode).max(64),
      default: ['beeline', 'kcell', 'tele2', 'altel'],
      env: 'IMEIFLOW_RESULTS_OPERATORS',
      doc: 'The operators with a results topic of their own, by the name their requests carry in `operator` (exact match). A request naming another is answered on `topics.results` and counted in imeiflow_results_unrouted_total.',
      readBy: ['workers', 'service', 'topic creation'],
    }),
    customsView: setting({
      schema: z.enum(['reduced', 'full']),
      default: 'reduced',
      env: 'IMEIFLOW_RESULTS_CUSTOMS_VIEW',
      doc: "How much of KGD's data a result carries: `reduced` says why a device is or is not verified without the application, procedure or KGD's grounds (src/domain/customs-view.ts); `full` carries them.",
      readBy: ['workers'],
    }),
  },
  checkResults,
);

/** The whole configuration, in the order of its JSON. */
export const SETTINGS = section(
  {
    dataDir: setting({
      schema: z.string().min(1),
      default: './data',
      env: 'IMEIFLOW_DATA_DIR',
      doc: 'The LMDB store, the audit files and uploads.',
      readBy: ['store', 'workers', 'CLI'],
    }),
    shutdownTimeoutMs: setting({
      schema: int(1000, 600_000),
      default: 30_000,
      env: 'IMEIFLOW_SHUTDOWN_TIMEOUT_MS',
      doc:
        'How long a stopping instance lets its in-flight batches finish and be published before it leaves ' +
        "the group; it exits 5 s after. Keep it 5 s or more under Kubernetes' terminationGracePeriodSeconds.",
      readBy: ['service', 'request pipeline'],
    }),
    store,
    kafka,
    topics,
    results,
    http,
    pool,
    pipeline,
    rules,
    pending,
    security,
    retention,
    log: section({
      level: setting({
        schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
        default: 'info',
        env: 'IMEIFLOW_LOG_LEVEL',
        doc: 'The pino log level.',
        readBy: ['logger'],
      }),
    }),
  },
  checkConfig,
);
