/**
 * The global tables' topics (src/kafka/topic-roles.ts declares every topic; topic-declaration.ts
 * says what a declaration holds): every instance reads every partition of each into its own LMDB
 * (src/pipeline/global-tables.ts, with a table per topic in src/pipeline/tables.ts and its decoder
 * in table-decoders.ts). KGD's release decisions, the loaded tables (TAC, block list, local
 * production), the token accounts, the audit trail and the KGD exports loaded.
 */
import { z } from 'zod';
import { releaseDecisionSchema } from '../domain/release-decision.js';
import { JSON_CONTENT as json, topicRole as role, type TopicRole } from './topic-declaration.js';

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

/** In the order of docs/topics.md and the `topics` settings, after the device topics. */
export const TABLE_TOPICS = {
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
