/**
 * The Kafka contract as an AsyncAPI 3 document (docs/asyncapi.yaml), built from the zod schemas
 * the code validates with (src/domain/messages.ts, src/domain/release-decision.ts) and from the
 * default configuration (topic names, partitions, replicas). `npm run docs:asyncapi` writes it;
 * test/unit/asyncapi.test.ts fails when the committed file is not what this builds.
 *
 * The document describes imeiflow itself: `receive` operations for the topics it reads, `send`
 * for those it writes. Who else writes or reads a topic is in the channel's description and in
 * `x-written-by` / `x-read-by`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type ZodType, z } from 'zod';
import { type Config, loadConfig } from '../src/config/config.js';
import {
  confirmationMessageSchema,
  dlqMessageSchema,
  resultMessageSchema,
  revocationMessageSchema,
  verifyRequestSchema,
} from '../src/domain/messages.js';
import { releaseDecisionSchema } from '../src/domain/release-decision.js';
import { TOPIC_ROLES, type TopicRoleName } from '../src/kafka/topic-roles.js';
import { topicSettings } from '../src/kafka/topic-settings.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { POSITION_HEADER } from '../src/pipeline/journal.js';

export type TopicRole = TopicRoleName;

const KAFKA_BINDING = '0.5.0';

/** A JSON Schema (draft-07, which AsyncAPI's default schema format extends) from a zod schema. */
function jsonSchema(schema: ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { target: 'draft-07', io }) as Record<
    string,
    unknown
  >;
  return rest;
}

const keySchemas = {
  imeiAsSent: z
    .string()
    .describe(
      'Any key works: imeiflow routes each request to its device partition itself. Keyed by the ' +
        "14-digit IMEI body with Kafka's default (murmur2) partitioner, a request needs no extra hop.",
    ),
  applicationId: z.string().describe('The applicationId of the decision.'),
  requestId: z.string().describe('The requestId of the request.'),
  imei15: z
    .string()
    .regex(/^\d{15}$/)
    .describe('The 15-digit IMEI.'),
  sourceKey: z.string().nullable().describe('The key of the message that could not be answered (or none).'),
} as const;

const headerSchemas = {
  request: z.object({
    'content-type': z
      .string()
      .optional()
      .describe('application/msgpack: the value is msgpack. Absent or anything else: the value is JSON.'),
  }),
  position: z.object({
    [POSITION_HEADER]: z
      .string()
      .regex(/^\d+\.\d+$/)
      .describe(
        '<seq>.<idx>: the journal record and output index this message was published from. ' +
          "A partition's new owner reads it to publish exactly the outputs still missing.",
      ),
  }),
  optionalPosition: z.object({
    [POSITION_HEADER]: z
      .string()
      .regex(/^\d+\.\d+$/)
      .optional()
      .describe(
        '<seq>.<idx> on entries for requests and commands (published through the journal, exactly once); ' +
          'entries for release decisions carry imeiflow-source: <decisions partition>.<offset> instead ' +
          '(written once, by the one validator that owns that decisions partition).',
      ),
  }),
} as const;

interface MessageSpec {
  readonly title: string;
  readonly summary: string;
  readonly contentType: 'application/json' | 'application/msgpack';
  readonly payload: string;
  readonly headers: keyof typeof headerSchemas | null;
  readonly key: keyof typeof keySchemas;
}

/** Payloads, by the name they get under components.schemas; inputs are described as accepted. */
const PAYLOADS: Record<string, { schema: ZodType; io: 'input' | 'output' }> = {
  VerifyRequest: { schema: verifyRequestSchema, io: 'input' },
  ReleaseDecision: { schema: releaseDecisionSchema, io: 'input' },
  Result: { schema: resultMessageSchema, io: 'output' },
  Confirmation: { schema: confirmationMessageSchema, io: 'output' },
  Revocation: { schema: revocationMessageSchema, io: 'output' },
  DlqEntry: { schema: dlqMessageSchema, io: 'output' },
};

const MESSAGES: Record<string, MessageSpec> = {
  verifyRequest: {
    title: 'Verification request (JSON)',
    summary: 'A device registration to verify.',
    contentType: 'application/json',
    payload: 'VerifyRequest',
    headers: 'request',
    key: 'imeiAsSent',
  },
  verifyRequestMsgpack: {
    title: 'Verification request (msgpack)',
    summary: 'The same request encoded as msgpack, with the header content-type: application/msgpack.',
    contentType: 'application/msgpack',
    payload: 'VerifyRequest',
    headers: 'request',
    key: 'imeiAsSent',
  },
  releaseDecision: {
    title: 'KGD release decision',
    summary: "KGD's decision on a customs application and the IMEIs it lists.",
    contentType: 'application/json',
    payload: 'ReleaseDecision',
    headers: null,
    key: 'applicationId',
  },
  result: {
    title: 'Outcome',
    summary: 'One outcome of a request: pending, review, then one final confirmed or rejected.',
    contentType: 'application/json',
    payload: 'Result',
    headers: 'position',
    key: 'requestId',
  },
  confirmation: {
    title: 'БДИК confirmation',
    summary: 'A verified device, once.',
    contentType: 'application/json',
    payload: 'Confirmation',
    headers: 'position',
    key: 'imei15',
  },
  revocation: {
    title: 'БДИК revocation',
    summary: 'A confirmation БДИК must withdraw (rule 9).',
    contentType: 'application/json',
    payload: 'Revocation',
    headers: 'position',
    key: 'imei15',
  },
  dlqEntry: {
    title: 'Dead letter',
    summary: 'A message imeiflow could not decode or answer, with where it was read.',
    contentType: 'application/json',
    payload: 'DlqEntry',
    headers: 'optionalPosition',
    key: 'sourceKey',
  },
};

/** A topic of the contract, with its messages. */
interface ExternalTopic {
  readonly internal: false;
  readonly title: string;
  readonly description: string;
  readonly writtenBy: readonly string[];
  readonly readBy: readonly string[];
  readonly messages: readonly (keyof typeof MESSAGES)[];
}

/** A topic only imeiflow reads and writes: its payloads are not a contract. */
interface InternalTopic {
  readonly internal: true;
  readonly title: string;
  readonly description: string;
  readonly key: string;
  /** The value's encoding today; imeiflow-private, it may change between versions. */
  readonly encoding: 'application/json' | 'application/msgpack';
}

/**
 * Every topic imeiflow reads or writes, by its role in `config.topics`: the type makes a new
 * role fail to compile until it is described here.
 */
export const TOPICS: { readonly [R in TopicRole]: ExternalTopic | InternalTopic } = {
  requests: {
    internal: false,
    title: 'Verification requests',
    description:
      'Device registrations from the mobile operators, JSON or msgpack. Any key works; keyed by the ' +
      '14-digit IMEI body with the murmur2 partitioner (the Java default; librdkafka ' +
      '`partitioner=murmur2_random`) a request is already on its device partition. One on another ' +
      'partition is re-keyed through imeiflow.requests.repartition, so every decision about a ' +
      'device is made by one owner. A request that cannot be decoded, or has no usable requestId, ' +
      'goes to the DLQ; one with a field wrong is answered rejected / invalid_request, the detail ' +
      'naming the field. A value longer than pipeline.maxMessageBytes goes to the DLQ. Outputs go ' +
      "to the device's partition N of each output topic.",
    writtenBy: ['mobile operators'],
    readBy: ['imeiflow (the consumer group; each partition by one instance)'],
    messages: ['verifyRequest', 'verifyRequestMsgpack'],
  },
  decisions: {
    internal: false,
    title: 'KGD release decisions',
    description:
      'Release decisions of the State Revenue Committee (KGD). Key: applicationId. Read in full by ' +
      'every instance (a global table); kept, not compacted: an application may come in several ' +
      'messages (a KGD export file is published here too). A revoked decision may list no IMEIs: ' +
      'then every IMEI the application listed is revoked. A decision that does not match the ' +
      'schema, or lists an IMEI that cannot be normalised, gets one DLQ entry.',
    writtenBy: ['KGD', 'imeiflow (KGD export files loaded through any instance or the CLI)'],
    readBy: ['imeiflow (every instance, every partition)'],
    messages: ['releaseDecision'],
  },
  results: {
    internal: false,
    title: 'Outcomes',
    description:
      'Every outcome of every request, exactly once: pending and review may come first, then ' +
      'exactly one final confirmed or rejected. Key: requestId.',
    writtenBy: ['imeiflow'],
    readBy: ['mobile operators'],
    messages: ['result'],
  },
  confirmations: {
    internal: false,
    title: 'БДИК confirmations',
    description:
      'One per verified device, never a duplicate, exactly once across crashes and rebalances. ' +
      "Key: the 15-digit IMEI. Compacted: it is also the registry's changelog, from which a " +
      "partition's next owner restores what БДИК holds. A null value (a tombstone) is not a " +
      'confirmation and withdraws nothing: imeiflow writes one when a confirmation was revoked or ' +
      'its data destroyed on request, so compaction removes the owner and phone it held; consumers skip it.',
    writtenBy: ['imeiflow'],
    readBy: ['БДИК', 'imeiflow (restoring the registry)'],
    messages: ['confirmation'],
  },
  dlq: {
    internal: false,
    title: 'Dead letters',
    description:
      'What cannot be decoded or answered: the source topic, partition, offset and key, the ' +
      'error, and the first 64 KiB of the original value (base64). Key: the source key. Entries ' +
      'for requests and commands are published exactly once through the journal; entries for ' +
      'release decisions once, by the validator that owns the decisions partition.',
    writtenBy: ['imeiflow'],
    readBy: ['operators and SREs (investigation)'],
    messages: ['dlqEntry'],
  },
  revocations: {
    internal: false,
    title: 'БДИК revocations',
    description:
      'A confirmation БДИК must withdraw because KGD revoked the release decision it rested on ' +
      '(rule 9). Key: the 15-digit IMEI. Compacted, with the confirmations: the registry changelog. ' +
      'A null value (a tombstone) is not a revocation: imeiflow writes one when the data of the ' +
      'device or its owner is destroyed on request; consumers skip it.',
    writtenBy: ['imeiflow'],
    readBy: ['БДИК', 'imeiflow (restoring the registry)'],
    messages: ['revocation'],
  },
  repartition: {
    internal: true,
    title: 'Re-keyed requests (internal)',
    description:
      "Requests that arrived on another partition than their device's, forwarded undecided with " +
      'their encoding, receipt time and origin (header imeiflow-origin: <partition>.<offset>).',
    key: 'the 14-digit IMEI body',
    encoding: 'application/json',
  },
  commands: {
    internal: true,
    title: 'Commands (internal)',
    description:
      'Reviewer decisions, deadlines and purges (destruction on request), sent to the partition ' +
      'that owns the device; it must have ' +
      'exactly as many partitions as the requests topic.',
    key: 'the 14-digit IMEI body',
    encoding: 'application/json',
  },
  journal: {
    internal: true,
    title: 'Journal (internal)',
    description: 'One record per processed batch: the exactly-once commit point (README, "Delivery").',
    key: 'p<partition>.<record number modulo the journal window>',
    encoding: 'application/msgpack',
  },
  pendingChangelog: {
    internal: true,
    title: 'Waiting requests changelog (internal)',
    description:
      "Requests waiting for KGD or a reviewer, per device: restored by a partition's next owner, " +
      'and read by every instance as the review table.',
    key: 'p/<14-digit IMEI body>',
    encoding: 'application/msgpack',
  },
  tac: {
    internal: true,
    title: 'TAC table (internal)',
    description: 'The GSMA TAC table, one record per TAC, read in full by every instance.',
    key: 'the 8-digit TAC',
    encoding: 'application/json',
  },
  blocklist: {
    internal: true,
    title: 'Block list (internal)',
    description: 'Blocked devices, read in full by every instance.',
    key: 'the 14-digit IMEI body',
    encoding: 'application/json',
  },
  localProduction: {
    internal: true,
    title: 'Local production (internal)',
    description: 'Devices produced or repaired in Kazakhstan, read in full by every instance.',
    key: 'the 14-digit IMEI body',
    encoding: 'application/json',
  },
  tokens: {
    internal: true,
    title: 'Bearer tokens (internal)',
    description: 'Token accounts (SHA-256 only), revocations, blocks and last use, read by every instance.',
    key: 'token/<name> or use/<name>',
    encoding: 'application/json',
  },
  audit: {
    internal: true,
    title: 'Audit trail (internal)',
    description:
      'One ordered audit trail for the cluster, read by every instance (GET /v1/audit, audit.jsonl).',
    key: 'the actor',
    encoding: 'application/json',
  },
  exports: {
    internal: true,
    title: 'KGD monthly exports loaded (internal)',
    description:
      'Which month each loaded KGD monthly export covers (seed 000 §11): one record per month ' +
      '(month, file name, rows, loadedAt, actor), published once the export’s decisions are on ' +
      'kgd.release.decisions; read by every instance (GET /v1/info, the export-month gauges).',
    key: 'kgd/<YYYY-MM>',
    encoding: 'application/json',
  },
};

/** What imeiflow does with each external topic, as AsyncAPI operations (its point of view). */
const RECEIVED: readonly TopicRole[] = ['requests', 'decisions'];

function capitalised(role: string): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

function internalMessage(role: TopicRole, topic: InternalTopic): Record<string, unknown> {
  return {
    name: `${role}Record`,
    title: topic.title,
    summary: 'Internal to imeiflow: not a contract; its encoding and fields may change between versions.',
    contentType: topic.encoding,
    payload: {
      description:
        `imeiflow-private ${topic.encoding === 'application/msgpack' ? 'msgpack' : 'JSON'}` +
        (TOPIC_ROLES[role].cleanup === 'compact' ? '; a null value is a tombstone.' : '.'),
    },
    bindings: {
      kafka: { key: { type: 'string', description: topic.key }, bindingVersion: KAFKA_BINDING },
    },
  };
}

/** The AsyncAPI 3 document, as a plain object. */
export function asyncApiDocument(config: Config = loadConfig({ env: {} })): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const internalMessages: Record<string, unknown> = {};

  for (const [role, topic] of Object.entries(TOPICS) as [TopicRole, ExternalTopic | InternalTopic][]) {
    const address = config.topics[role];
    const bindings = {
      kafka: {
        topic: address,
        partitions: TOPIC_ROLES[role].partitions ?? config.kafka.topicPartitions,
        replicas: config.kafka.replicationFactor,
        topicConfiguration: {
          'cleanup.policy': [TOPIC_ROLES[role].cleanup],
          // The retention defaults (src/kafka/topic-settings.ts), as numbers.
          ...Object.fromEntries(
            Object.entries(topicSettings(role, config.retention)).map(([key, value]) => [key, Number(value)]),
          ),
        },
        bindingVersion: KAFKA_BINDING,
      },
    };
    const description = `${topic.description}\n\nThe name is configurable: ${TOPIC_ROLES[role].env} (default ${address}).`;
    const channelRef = { $ref: `#/channels/${role}` };
    if (topic.internal) {
      internalMessages[`${role}Record`] = internalMessage(role, topic);
      channels[role] = {
        address,
        title: topic.title,
        description: `${description}\n\nInternal to imeiflow, which alone writes and reads it. Key: ${topic.key}.`,
        messages: { [`${role}Record`]: { $ref: `#/components/messages/${role}Record` } },
        bindings,
        'x-written-by': ['imeiflow'],
        'x-read-by': ['imeiflow'],
      };
      const messageRef = { $ref: `#/channels/${role}/messages/${role}Record` };
      operations[`send${capitalised(role)}`] = {
        action: 'send',
        channel: channelRef,
        messages: [messageRef],
      };
      operations[`receive${capitalised(role)}`] = {
        action: 'receive',
        channel: channelRef,
        messages: [messageRef],
      };
      continue;
    }
    channels[role] = {
      address,
      title: topic.title,
      description: `${description}\n\nWritten by: ${topic.writtenBy.join(', ')}. Read by: ${topic.readBy.join(', ')}.`,
      messages: Object.fromEntries(
        topic.messages.map((name) => [name, { $ref: `#/components/messages/${name}` }]),
      ),
      bindings,
      'x-written-by': topic.writtenBy,
      'x-read-by': topic.readBy,
    };
    const action = RECEIVED.includes(role) ? 'receive' : 'send';
    operations[`${action}${capitalised(role)}`] = {
      action,
      title: `${action === 'receive' ? 'Read' : 'Publish'} ${topic.title.toLowerCase()}`,
      channel: channelRef,
      messages: topic.messages.map((name) => ({ $ref: `#/channels/${role}/messages/${name}` })),
    };
  }

  const messages: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(MESSAGES)) {
    messages[name] = {
      name,
      title: spec.title,
      summary: spec.summary,
      contentType: spec.contentType,
      ...(spec.headers === null ? {} : { headers: jsonSchema(headerSchemas[spec.headers], 'input') }),
      payload: { $ref: `#/components/schemas/${spec.payload}` },
      bindings: {
        kafka: { key: jsonSchema(keySchemas[spec.key], 'output'), bindingVersion: KAFKA_BINDING },
      },
    };
  }
  Object.assign(messages, internalMessages);

  return {
    asyncapi: '3.1.0',
    info: {
      title: 'imeiflow Kafka contract',
      version: pkg.version,
      description:
        "The topics imeiflow reads and writes (DESIGN.md §4). Keys are UTF-8 strings. The control plane's " +
        'HTTP API is described by the OpenAPI document the service serves at /docs/json.',
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: {
        host: '{bootstrap}',
        protocol: 'kafka',
        description:
          'A Kafka cluster (≥ 3), or the embedded Kafka-protocol cluster `npm start` runs when ' +
          'KAFKA_BROKERS is unset (its address is printed at start-up and given at /v1/info).',
        variables: {
          bootstrap: { description: 'KAFKA_BROKERS, e.g. kafka-1:9092', default: 'localhost:9092' },
        },
      },
    },
    channels,
    operations,
    components: {
      messages,
      schemas: Object.fromEntries(
        Object.entries(PAYLOADS).map(([name, { schema, io }]) => [name, jsonSchema(schema, io)]),
      ),
    },
  };
}

/** docs/asyncapi.yaml as `npm run docs:asyncapi` writes it. */
export function asyncApiYaml(config?: Config): string {
  const header =
    '# Generated by `npm run docs:asyncapi` (scripts/asyncapi.ts) from the zod schemas in src/domain/.\n' +
    '# Do not edit by hand: test/unit/asyncapi.test.ts fails when this file is not current.\n';
  return header + stringify(asyncApiDocument(config), { lineWidth: 0, aliasDuplicateObjects: false });
}
