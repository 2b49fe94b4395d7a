/**
 * Every topic imeiflow reads or writes, named once: its default name, the environment variable
 * that overrides it, how it is partitioned and cleaned up, and who writes and reads it. The
 * configuration schema, topic creation, the journal's output roles, the benchmarks, the tests
 * and the AsyncAPI document all take the list from here.
 */

/**
 * `device`: partition N belongs to the owner of the devices whose IMEI body hashes to N (the
 * requests topic's partition count is N; `exact` topics must have exactly N partitions so the
 * range assignor gives partition N of each to the same instance).
 * `global`: every instance reads every partition (a global table, like Kafka Streams'
 * GlobalKTable).
 */
export type TopicScope = 'device' | 'global';

export interface TopicRole {
  readonly defaultName: string;
  readonly env: string;
  readonly scope: TopicScope;
  /** device topics: exactly as many partitions as the requests topic (else at least as many). */
  readonly exact: boolean;
  readonly cleanup: 'delete' | 'compact';
  /** Partitions to create when imeiflow creates it (null: kafka.topicPartitions). */
  readonly partitions: number | null;
  readonly internal: boolean;
  readonly key: string;
  readonly writtenBy: string;
  readonly readBy: string;
  readonly about: string;
}

function role(r: TopicRole): TopicRole {
  return r;
}

export const TOPIC_ROLES = {
  requests: role({
    defaultName: 'imei.verify.requests',
    env: 'IMEIFLOW_TOPIC_REQUESTS',
    scope: 'device',
    exact: true,
    cleanup: 'delete',
    partitions: null,
    internal: false,
    key: 'the IMEI body (14 digits) with the murmur2 partitioner avoids a hop; any key works',
    writtenBy: 'mobile operators',
    readBy: 'imeiflow',
    about: 'verification requests (device registrations)',
  }),
  repartition: role({
    defaultName: 'imeiflow.requests.repartition',
    env: 'IMEIFLOW_TOPIC_REPARTITION',
    scope: 'device',
    exact: true,
    cleanup: 'delete',
    partitions: null,
    internal: true,
    key: 'the IMEI body',
    writtenBy: 'imeiflow',
    readBy: 'imeiflow',
    about: 'requests that arrived on another partition than their device’s, re-keyed by IMEI body',
  }),
  commands: role({
    defaultName: 'imeiflow.commands',
    env: 'IMEIFLOW_TOPIC_COMMANDS',
    scope: 'device',
    exact: true,
    cleanup: 'delete',
    partitions: null,
    internal: true,
    key: 'the IMEI body',
    writtenBy: 'imeiflow (any instance)',
    readBy: 'imeiflow (the device’s owner)',
    about: 'reviewer decisions and deadlines, for the owner of the device to decide',
  }),
  journal: role({
    defaultName: 'imeiflow.journal',
    env: 'IMEIFLOW_TOPIC_JOURNAL',
    scope: 'device',
    exact: false,
    cleanup: 'compact',
    partitions: null,
    internal: true,
    key: 'p<partition>.<seq mod 2>',
    writtenBy: 'imeiflow',
    readBy: 'imeiflow (recovery)',
    about: 'one record per processed batch: the exactly-once commit point',
  }),
  pendingChangelog: role({
    defaultName: 'imeiflow.pending.changelog',
    env: 'IMEIFLOW_TOPIC_PENDING_CHANGELOG',
    scope: 'device',
    exact: false,
    cleanup: 'compact',
    partitions: null,
    internal: true,
    key: 'p/<IMEI body>',
    writtenBy: 'imeiflow',
    readBy: 'imeiflow (the next owner restores; every instance keeps the review table)',
    about: 'requests waiting for KGD or a reviewer, per device',
  }),
  results: role({
    defaultName: 'imei.verify.results',
    env: 'IMEIFLOW_TOPIC_RESULTS',
    scope: 'device',
    exact: false,
    cleanup: 'delete',
    partitions: null,
    internal: false,
    key: 'requestId',
    writtenBy: 'imeiflow',
    readBy: 'mobile operators',
    about: 'every outcome: pending, review, then one final confirmed / rejected',
  }),
  confirmations: role({
    defaultName: 'bdik.confirmations',
    env: 'IMEIFLOW_TOPIC_CONFIRMATIONS',
    scope: 'device',
    exact: false,
    cleanup: 'compact',
    partitions: null,
    internal: false,
    key: 'the 15-digit IMEI',
    writtenBy: 'imeiflow',
    readBy: 'БДИК; imeiflow (the registry’s changelog)',
    about: 'one per verified device',
  }),
  revocations: role({
    defaultName: 'bdik.revocations',
    env: 'IMEIFLOW_TOPIC_REVOCATIONS',
    scope: 'device',
    exact: false,
    cleanup: 'compact',
    partitions: null,
    internal: false,
    key: 'the 15-digit IMEI',
    writtenBy: 'imeiflow',
    readBy: 'БДИК; imeiflow (the registry’s changelog)',
    about: 'confirmations БДИК must withdraw (rule 9)',
  }),
  dlq: role({
    defaultName: 'imei.verify.dlq',
    env: 'IMEIFLOW_TOPIC_DLQ',
    scope: 'device',
    exact: false,
    cleanup: 'delete',
    partitions: null,
    internal: false,
    key: 'the source key',
    writtenBy: 'imeiflow',
    readBy: 'operators of imeiflow',
    about: 'what cannot be decoded: source position, error, original bytes',
  }),
  decisions: role({
    defaultName: 'kgd.release.decisions',
    env: 'IMEIFLOW_TOPIC_DECISIONS',
    scope: 'global',
    exact: false,
    cleanup: 'delete',
    partitions: null,
    internal: false,
    key: 'applicationId',
    writtenBy: 'KGD; imeiflow (KGD export files)',
    readBy: 'imeiflow (every instance)',
    about: 'customs release decisions; kept, not compacted: an application may come in several messages',
  }),
  tac: role({
    defaultName: 'imeiflow.tac',
    env: 'IMEIFLOW_TOPIC_TAC',
    scope: 'global',
    exact: false,
    cleanup: 'compact',
    partitions: null,
    internal: true,
    key: 'TAC (8 digits)',
    writtenBy: 'imeiflow (TAC loads)',
    readBy: 'imeiflow (every instance)',
    about: 'the GSMA TAC table',
  }),
  blocklist: role({
    defaultName: 'imeiflow.blocklist',
    env: 'IMEIFLOW_TOPIC_BLOCKLIST',
    scope: 'global',
    exact: false,
    cleanup: 'compact',
    partitions: null,
    internal: true,
    key: 'IMEI body',
    writtenBy: 'imeiflow (block list loads)',
    readBy: 'imeiflow (every instance)',
    about: 'the block list',
  }),
  localProduction: role({
    defaultName: 'imeiflow.local-production',
    env: 'IMEIFLOW_TOPIC_LOCAL_PRODUCTION',
    scope: 'global',
    exact: false,
    cleanup: 'compact',
    partitions: null,
    internal: true,
    key: 'IMEI body',
    writtenBy: 'imeiflow (local production loads)',
    readBy: 'imeiflow (every instance)',
    about: 'devices produced or repaired in Kazakhstan',
  }),
  tokens: role({
    defaultName: 'imeiflow.tokens',
    env: 'IMEIFLOW_TOPIC_TOKENS',
    scope: 'global',
    exact: false,
    cleanup: 'compact',
    partitions: 1,
    internal: true,
    key: 'token/<name> or use/<name>',
    writtenBy: 'imeiflow (token commands, token use)',
    readBy: 'imeiflow (every instance)',
    about: 'bearer token accounts (SHA-256 only), revocations, blocks and last use',
  }),
  audit: role({
    defaultName: 'imeiflow.audit',
    env: 'IMEIFLOW_TOPIC_AUDIT',
    scope: 'global',
    exact: false,
    cleanup: 'delete',
    partitions: 1,
    internal: true,
    key: 'the actor',
    writtenBy: 'imeiflow (every access to personal data, every load, review and token change)',
    readBy: 'imeiflow (every instance: GET /v1/audit, audit.jsonl)',
    about: 'one ordered audit trail for the cluster',
  }),
  exports: role({
    defaultName: 'imeiflow.exports',
    env: 'IMEIFLOW_TOPIC_EXPORTS',
    scope: 'global',
    exact: false,
    cleanup: 'compact',
    partitions: 1,
    internal: true,
    key: 'kgd/<YYYY-MM>',
    writtenBy: 'imeiflow (KGD export loads, after their decisions are delivered)',
    readBy: 'imeiflow (every instance: GET /v1/info, the export-month gauges)',
    about: 'which month each loaded KGD monthly export covers (seed 000 §11), one record per month',
  }),
} as const satisfies Record<string, TopicRole>;

export type TopicRoleName = keyof typeof TOPIC_ROLES;
export const TOPIC_ROLE_NAMES = Object.keys(TOPIC_ROLES) as TopicRoleName[];

/** Topic name per role, as configured. */
export type TopicNames = { readonly [R in TopicRoleName]: string };

export const DEFAULT_TOPIC_NAMES: TopicNames = Object.fromEntries(
  TOPIC_ROLE_NAMES.map((r) => [r, TOPIC_ROLES[r].defaultName]),
) as TopicNames;

/**
 * The device topics a partition task reads, as the outputs are `OUTPUT_ROLES`: the index is the
 * batch contract's input kind (src/pool/batch-contract.ts INPUT_REQUEST, INPUT_FORWARDED,
 * INPUT_COMMAND; test/unit/topic-roles.test.ts holds them equal).
 */
export const INPUT_ROLES = [
  'requests',
  'repartition',
  'commands',
] as const satisfies readonly TopicRoleName[];
export type InputRole = (typeof INPUT_ROLES)[number];
