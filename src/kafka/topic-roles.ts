/**
 * Every topic imeiflow reads or writes, declared once (topic-declaration.ts says what a
 * declaration holds): its default name and the variable that overrides it, how it is
 * partitioned, keyed and cleaned up, how long it keeps what it holds, its messages' schemas
 * (src/domain/messages.ts, release-decision.ts) and who writes and reads it. Derived from here:
 * the `topics` settings, topic creation and its Kafka settings (topic-settings.ts),
 * deploy/compose/create-topics.sh and docs/topics.md's table (`npm run docs:topics`), the
 * AsyncAPI document (`npm run docs:asyncapi`), and the tests' topic lists.
 */
import { z } from 'zod';
import {
  confirmationMessageSchema,
  dlqMessageSchema,
  resultMessageSchema,
  revocationMessageSchema,
  verifyRequestSchema,
} from '../domain/messages.js';
import { releaseDecisionSchema } from '../domain/release-decision.js';
import type { TopicRole } from './topic-declaration.js';

// The largest journal record (a whole batch's outputs): the journal topic's max.message.bytes,
// and what the producer must take (src/kafka/client.ts).
export const JOURNAL_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

const role = (r: TopicRole): TopicRole => r;
const json = 'application/json' as const;
const msgpack = 'application/msgpack' as const;
const imei15 = z
  .string()
  .regex(/^\d{15}$/)
  .describe('The 15-digit IMEI.');
/** What every device topic's outputs share: written by one instance, on the device's partition. */
const deviceOutput = { scope: 'device', exact: false, partitions: null, writtenBy: ['imeiflow'] } as const;
/** A table of data loaded from files, without personal data: the latest record per key, as Kafka keeps it. */
const loadedTable = {
  value: { contract: false, encoding: json },
  readBy: ['imeiflow (every instance)'],
  cleanup: 'compact',
  why: 'a global table without personal data',
  retention: { kind: 'kafka' },
} as const;
/** A table every instance reads whole (its own partition count: null is kafka.topicPartitions). */
const globalTable = (partitions: number | null) => ({ scope: 'global', exact: false, partitions }) as const;

export const TOPIC_ROLES = {
  requests: role({
    name: 'imei.verify.requests',
    env: 'IMEIFLOW_TOPIC_REQUESTS',
    title: 'Verification requests',
    about: 'verification requests (device registrations), JSON or msgpack',
    description:
      'Device registrations from the mobile operators, JSON or msgpack. Any key works; keyed by the ' +
      '14-digit IMEI body with the murmur2 partitioner (the Java default; librdkafka ' +
      '`partitioner=murmur2_random`) a request is already on its device partition. One on another ' +
      'partition is re-keyed through imeiflow.requests.repartition, so every decision about a ' +
      'device is made by one owner. A request that cannot be decoded, or has no usable requestId, ' +
      'goes to the DLQ; one with a field wrong is answered rejected / invalid_request, the detail ' +
      'naming the field. A value longer than pipeline.maxMessageBytes goes to the DLQ. Outputs go ' +
      "to the device's partition N of each output topic.",
    scope: 'device',
    exact: true,
    partitions: null,
    key: 'the 14-digit IMEI body, murmur2 (any key works)',
    keySchema: z
      .string()
      .describe(
        'Any key works: imeiflow routes each request to its device partition itself. Keyed by the ' +
          "14-digit IMEI body with Kafka's default (murmur2) partitioner, a request needs no extra hop.",
      ),
    value: {
      contract: true,
      imeiflow: 'receive',
      messages: [
        {
          name: 'verifyRequest',
          title: 'Verification request (JSON)',
          summary: 'A device registration to verify.',
          contentType: json,
          payload: 'VerifyRequest',
          schema: verifyRequestSchema,
          io: 'input',
          headers: 'request',
        },
        {
          name: 'verifyRequestMsgpack',
          title: 'Verification request (msgpack)',
          summary: 'The same request encoded as msgpack, with the header content-type: application/msgpack.',
          contentType: msgpack,
          payload: 'VerifyRequest',
          schema: verifyRequestSchema,
          io: 'input',
          headers: 'request',
        },
      ],
    },
    writtenBy: ['mobile operators'],
    readBy: ['imeiflow (the consumer group; each partition by one instance)'],
    cleanup: 'delete',
    why: 'input with owners and phones: kept as long as a crash or the longest outage you want to absorb may need it again',
    retention: { kind: 'days', setting: 'requestsDays' },
  }),
  repartition: role({
    name: 'imeiflow.requests.repartition',
    env: 'IMEIFLOW_TOPIC_REPARTITION',
    title: 'Re-keyed requests (internal)',
    about: "requests that arrived on another partition than their device's, re-keyed by IMEI body",
    description:
      "Requests that arrived on another partition than their device's, forwarded undecided (sealed " +
      'under the cluster-derived topic key) with their encoding, receipt time and imeiflow-origin.',
    scope: 'device',
    exact: true,
    partitions: null,
    key: 'the 14-digit IMEI body',
    value: { contract: false, encoding: json },
    writtenBy: ['imeiflow'],
    readBy: ["imeiflow (the device's owner)"],
    cleanup: 'delete',
    why: 're-keyed requests, with owners and phones: as long as the requests',
    retention: { kind: 'days', setting: 'requestsDays' },
  }),
  commands: role({
    name: 'imeiflow.commands',
    env: 'IMEIFLOW_TOPIC_COMMANDS',
    title: 'Commands (internal)',
    about: "reviewer decisions, deadlines and purges, for the device's owner to decide",
    description:
      'Reviewer decisions, deadlines and purges, signed with the cluster key (imeiflow-signature; else ' +
      'refused), sent to the device’s partition: exactly as many partitions as the requests topic.',
    scope: 'device',
    exact: true,
    partitions: null,
    key: 'the 14-digit IMEI body',
    value: { contract: false, encoding: json },
    writtenBy: ['imeiflow (any instance)'],
    readBy: ["imeiflow (the device's owner)"],
    cleanup: 'delete',
    why: 'reviewer decisions, deadlines and purges of those requests: as long as the requests',
    retention: { kind: 'days', setting: 'requestsDays' },
  }),
  journal: role({
    name: 'imeiflow.journal',
    env: 'IMEIFLOW_TOPIC_JOURNAL',
    title: 'Journal (internal)',
    about: 'one record per processed batch: the exactly-once commit point',
    description: 'One record per batch (sealed under the cluster-derived topic key): the commit point.',
    scope: 'device',
    exact: false,
    partitions: null,
    key: 'p<partition>.<record number modulo the journal window>',
    value: { contract: false, encoding: msgpack },
    writtenBy: ['imeiflow'],
    readBy: ['imeiflow (recovery)'],
    cleanup: 'compact',
    why: 'the exactly-once commit point: the last records per partition (the journal window)',
    retention: { kind: 'forgetting' },
    properties: { 'max.message.bytes': String(JOURNAL_MAX_MESSAGE_BYTES) },
  }),
  pendingChangelog: role({
    name: 'imeiflow.pending.changelog',
    env: 'IMEIFLOW_TOPIC_PENDING_CHANGELOG',
    title: 'Waiting requests changelog (internal)',
    about: "requests waiting for KGD or a reviewer, per device; restored by a partition's next owner",
    description:
      'Requests waiting for KGD or a reviewer, per device (sealed under the cluster-derived topic key): ' +
      "restored by a partition's next owner, and read by every instance as the review table.",
    ...deviceOutput,
    key: 'p/<14-digit IMEI body>',
    value: { contract: false, encoding: msgpack },
    readBy: ['imeiflow (the next owner restores; every instance keeps the review table)'],
    cleanup: 'compact',
    why: "partition-local state, restored by a partition's next owner: the latest record per device",
    retention: { kind: 'forgetting' },
  }),
  results: role({
    name: 'imei.verify.results',
    env: 'IMEIFLOW_TOPIC_RESULTS',
    title: 'Outcomes',
    about: 'outcomes for operators without a topic of their own: `pending`, `review`, one final',
    description:
      'Every outcome of a request, exactly once: pending and review may come first, then one final ' +
      'confirmed or rejected. Key: requestId. Each operator of results.operators gets its own on imei.verify.results.<operator>; this shared topic has the others (all with results.perOperator false).',
    ...deviceOutput,
    key: 'requestId',
    keySchema: z.string().describe('The requestId of the request.'),
    value: {
      contract: true,
      imeiflow: 'send',
      messages: [
        {
          name: 'result',
          title: 'Outcome',
          summary: 'One outcome of a request: pending, review, then one final confirmed or rejected.',
          contentType: json,
          payload: 'Result',
          schema: resultMessageSchema,
          io: 'output',
          headers: 'position',
        },
      ],
    },
    readBy: ['operators without a topic of their own; SREs'],
    cleanup: 'delete',
    why: "the operators' answers (no owner or phone); partition N holds what request partition N produced",
    retention: { kind: 'days', setting: 'resultsDays' },
  }),
  confirmations: role({
    name: 'bdik.confirmations',
    env: 'IMEIFLOW_TOPIC_CONFIRMATIONS',
    title: 'БДИК confirmations',
    about: "one per verified device; also the registry's changelog",
    description:
      'One per verified device, never a duplicate, exactly once across crashes and rebalances. ' +
      "Key: the 15-digit IMEI. Compacted: it is also the registry's changelog, from which a " +
      "partition's next owner restores what БДИК holds. A null value (a tombstone) is not a " +
      'confirmation and withdraws nothing: imeiflow writes one when a confirmation was revoked or ' +
      'its data destroyed on request, so compaction removes the owner and phone it held; consumers skip it.',
    ...deviceOutput,
    key: 'the 15-digit IMEI',
    keySchema: imei15,
    value: {
      contract: true,
      imeiflow: 'send',
      messages: [
        {
          name: 'confirmation',
          title: 'БДИК confirmation',
          summary: 'A verified device, once.',
          contentType: json,
          payload: 'Confirmation',
          schema: confirmationMessageSchema,
          io: 'output',
          headers: 'position',
        },
      ],
    },
    readBy: ['БДИК', 'imeiflow (restoring the registry)'],
    cleanup: 'compact',
    why: "БДИК's input and the registry's changelog: the latest record per IMEI; tombstones from revocations and purges take the rest away",
    retention: { kind: 'forgetting' },
  }),
  revocations: role({
    name: 'bdik.revocations',
    env: 'IMEIFLOW_TOPIC_REVOCATIONS',
    title: 'БДИК revocations',
    about: "a confirmation БДИК must withdraw (rule 9); also the registry's changelog",
    description:
      'A confirmation БДИК must withdraw because KGD revoked the release decision it rested on ' +
      '(rule 9). Key: the 15-digit IMEI. Compacted, with the confirmations: the registry changelog. ' +
      'A null value (a tombstone) is not a revocation: imeiflow writes one when the data of the ' +
      'device or its owner is destroyed on request; consumers skip it.',
    ...deviceOutput,
    key: 'the 15-digit IMEI',
    keySchema: imei15,
    value: {
      contract: true,
      imeiflow: 'send',
      messages: [
        {
          name: 'revocation',
          title: 'БДИК revocation',
          summary: 'A confirmation БДИК must withdraw (rule 9).',
          contentType: json,
          payload: 'Revocation',
          schema: revocationMessageSchema,
          io: 'output',
          headers: 'position',
        },
      ],
    },
    readBy: ['БДИК', 'imeiflow (restoring the registry)'],
    cleanup: 'compact',
    why: "with the confirmations, the registry's changelog",
    retention: { kind: 'forgetting' },
  }),
  dlq: role({
    name: 'imei.verify.dlq',
    env: 'IMEIFLOW_TOPIC_DLQ',
    title: 'Dead letters',
    about: 'what cannot be decoded: topic, partition, offset, error, original bytes (base64, first 64 KiB)',
    description:
      'What cannot be decoded or answered: the source topic, partition, offset and key, the ' +
      'error, and the first 64 KiB of the original value (base64). Key: the source key. Entries ' +
      'for requests and commands are published exactly once through the journal; entries for ' +
      'release decisions once, by the validator that owns the decisions partition.',
    ...deviceOutput,
    key: 'the source key',
    keySchema: z.string().nullable().describe('The key of the message that could not be answered (or none).'),
    value: {
      contract: true,
      imeiflow: 'send',
      messages: [
        {
          name: 'dlqEntry',
          title: 'Dead letter',
          summary: 'A message imeiflow could not decode or answer, with where it was read.',
          contentType: json,
          payload: 'DlqEntry',
          schema: dlqMessageSchema,
          io: 'output',
          headers: 'optionalPosition',
        },
      ],
    },
    readBy: ['operators and SREs (investigation)'],
    cleanup: 'delete',
    why: 'undecodable input, whatever it held',
    retention: { kind: 'days', setting: 'dlqDays' },
  }),
  decisions: role({
    name: 'kgd.release.decisions',
    env: 'IMEIFLOW_TOPIC_DECISIONS',
    title: 'KGD release decisions',
    about:
      'customs release decisions, read in full by every instance; not compacted: an application may come in several messages',
    description:
      'Release decisions of the State Revenue Committee (KGD). Key: applicationId. Read in full by ' +
      'every instance (a global table); kept, not compacted: an application may come in several ' +
      'messages (a KGD export file is published here too). A revoked decision may list no IMEIs: ' +
      'then every IMEI the application listed is revoked. A decision that does not match the ' +
      'schema, or lists an IMEI that cannot be normalised, gets one DLQ entry.',
    ...globalTable(null),
    key: 'applicationId',
    keySchema: z.string().describe('The applicationId of the decision.'),
    value: {
      contract: true,
      imeiflow: 'receive',
      messages: [
        {
          name: 'releaseDecision',
          title: 'KGD release decision',
          summary: "KGD's decision on a customs application and the IMEIs it lists.",
          contentType: json,
          payload: 'ReleaseDecision',
          schema: releaseDecisionSchema,
          io: 'input',
          headers: null,
        },
      ],
    },
    writtenBy: ['KGD', 'imeiflow (KGD export files loaded through any instance or the CLI)'],
    readBy: ['imeiflow (every instance, every partition)'],
    cleanup: 'delete',
    why: 'the global declaration index, rebuilt from here by a new instance: as long as the declarations it becomes; not compacted, as an application may come in several messages',
    retention: { kind: 'days', setting: 'declarationsDays' },
  }),
  tac: role({
    name: 'imeiflow.tac',
    env: 'IMEIFLOW_TOPIC_TAC',
    title: 'TAC table (internal)',
    about: 'the GSMA TAC table: a global table',
    description: 'The GSMA TAC table, one record per TAC, read in full by every instance.',
    ...globalTable(null),
    key: 'the 8-digit TAC',
    ...loadedTable,
    writtenBy: ['imeiflow (TAC loads)'],
  }),
  blocklist: role({
    name: 'imeiflow.blocklist',
    env: 'IMEIFLOW_TOPIC_BLOCKLIST',
    title: 'Block list (internal)',
    about: 'the block list: a global table',
    description: 'Blocked devices, read in full by every instance.',
    ...globalTable(null),
    key: 'the 14-digit IMEI body',
    ...loadedTable,
    writtenBy: ['imeiflow (block list loads)'],
  }),
  localProduction: role({
    name: 'imeiflow.local-production',
    env: 'IMEIFLOW_TOPIC_LOCAL_PRODUCTION',
    title: 'Local production (internal)',
    about: 'devices produced or repaired in Kazakhstan: a global table',
    description: 'Devices produced or repaired in Kazakhstan, read in full by every instance.',
    ...globalTable(null),
    key: 'the 14-digit IMEI body',
    ...loadedTable,
    writtenBy: ['imeiflow (local production loads)'],
  }),
  tokens: role({
    name: 'imeiflow.tokens',
    env: 'IMEIFLOW_TOPIC_TOKENS',
    title: 'Bearer tokens (internal)',
    about: 'bearer token accounts (SHA-256 only), revocations, blocks and last use',
    description:
      'Token accounts (SHA-256 only), revocations, blocks and last use, read by every instance; ' +
      'each event signed with the cluster key (header imeiflow-signature, docs/control-plane.md).',
    ...globalTable(1),
    key: '<event type>/<account name or IIN> (src/security/token-events.ts tokenEventKey)',
    value: { contract: false, encoding: json },
    writtenBy: ['imeiflow (token commands, token use)'],
    readBy: ['imeiflow (every instance)'],
    cleanup: 'compact',
    why: 'token accounts (SHA-256 only): the latest record per account',
    retention: { kind: 'kafka' },
  }),
  audit: role({
    name: 'imeiflow.audit',
    env: 'IMEIFLOW_TOPIC_AUDIT',
    title: 'Audit trail (internal)',
    about: "the cluster's one ordered audit trail",
    description:
      'One ordered audit trail for the cluster, read by every instance (GET /v1/audit, audit.jsonl); ' +
      'each entry signed with the cluster key (header imeiflow-signature, docs/control-plane.md).',
    ...globalTable(1),
    key: 'the actor',
    value: { contract: false, encoding: json },
    writtenBy: ['imeiflow (every access to personal data, every load, review and token change)'],
    readBy: ['imeiflow (every instance: GET /v1/audit, audit.jsonl)'],
    cleanup: 'delete',
    why: "the audit trail's archive (seed 001 §25, §31): imeiflow never destroys it",
    retention: { kind: 'forever' },
  }),
  exports: role({
    name: 'imeiflow.exports',
    env: 'IMEIFLOW_TOPIC_EXPORTS',
    title: 'KGD monthly exports loaded (internal)',
    about: 'which month each loaded KGD monthly export covers (seed 000 §11)',
    description:
      'Which month each loaded KGD monthly export covers (seed 000 §11): one record per month ' +
      '(month, file name, rows, loadedAt, actor), published once the export’s decisions are on ' +
      'kgd.release.decisions; read by every instance (GET /v1/info, the export-month gauges).',
    ...globalTable(1),
    key: 'kgd/<YYYY-MM>',
    value: { contract: false, encoding: json },
    writtenBy: ['imeiflow (KGD export loads, after their decisions are delivered)'],
    readBy: ['imeiflow (every instance: GET /v1/info, the export-month gauges)'],
    cleanup: 'compact',
    why: 'the months of the KGD exports loaded: the latest record per month',
    retention: { kind: 'kafka' },
  }),
} as const satisfies Record<string, TopicRole>;

export type TopicRoleName = keyof typeof TOPIC_ROLES;
export const TOPIC_ROLE_NAMES = Object.keys(TOPIC_ROLES) as TopicRoleName[];

/** Topic name per role, as configured. */
export type TopicNames = { readonly [R in TopicRoleName]: string };

export const DEFAULT_TOPIC_NAMES: TopicNames = Object.fromEntries(
  TOPIC_ROLE_NAMES.map((r) => [r, TOPIC_ROLES[r].name]),
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
