/**
 * The Kafka contract as an AsyncAPI 3 document (docs/asyncapi.yaml), built from the topics'
 * declarations (src/kafka/topic-roles.ts: keys, messages and the zod schemas the code validates
 * with) and from the default configuration (topic names, partitions, replicas, retention). `npm run docs:asyncapi` writes it;
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
import type { HeaderSet, TopicMessage, TopicRole } from '../src/kafka/topic-declaration.js';
import { TOPIC_ROLE_NAMES, TOPIC_ROLES, type TopicRoleName } from '../src/kafka/topic-roles.js';
import { topicSettings } from '../src/kafka/topic-settings.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { POSITION_HEADER } from '../src/pipeline/positions.js';

const KAFKA_BINDING = '0.5.0';

/** A JSON Schema (draft-07, which AsyncAPI's default schema format extends) from a zod schema. */
function jsonSchema(schema: ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { target: 'draft-07', io }) as Record<
    string,
    unknown
  >;
  return rest;
}

/** The headers of each set a message declares (src/kafka/topic-roles.ts), as the pipeline writes them. */
const headerSchemas: Record<HeaderSet, ZodType> = {
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

function capitalised(role: string): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/** An internal topic's one message: its encoding and key, no schema (not a contract). */
function internalMessage(role: TopicRoleName, topic: TopicRole, encoding: string): Record<string, unknown> {
  return {
    name: `${role}Record`,
    title: topic.title,
    summary: 'Internal to imeiflow: not a contract; its encoding and fields may change between versions.',
    contentType: encoding,
    payload: {
      description:
        `imeiflow-private ${encoding === 'application/msgpack' ? 'msgpack' : 'JSON'}` +
        (topic.cleanup === 'compact' ? '; a null value is a tombstone.' : '.'),
    },
    bindings: {
      kafka: { key: { type: 'string', description: topic.key }, bindingVersion: KAFKA_BINDING },
    },
  };
}

/** A contract message, its payload by reference to components.schemas. */
function contractMessage(message: TopicMessage, keySchema: ZodType): Record<string, unknown> {
  return {
    name: message.name,
    title: message.title,
    summary: message.summary,
    contentType: message.contentType,
    ...(message.headers === null ? {} : { headers: jsonSchema(headerSchemas[message.headers], 'input') }),
    payload: { $ref: `#/components/schemas/${message.payload}` },
    bindings: {
      kafka: { key: jsonSchema(keySchema, 'output'), bindingVersion: KAFKA_BINDING },
    },
  };
}

/**
 * Operators are tenants: each one's results on a topic of its own (`results.topicPattern`), the
 * same messages as the shared results channel, one address per operator of `results.operators`.
 */
function addOperatorResults(
  config: Config,
  channels: Record<string, unknown>,
  operations: Record<string, unknown>,
): void {
  const shared = channels['results'] as { bindings: { kafka: Record<string, unknown> } };
  const { topic: _sharedAddress, ...binding } = shared.bindings.kafka;
  const { topicPattern, operators } = config.results;
  channels['operatorResults'] = {
    address: topicPattern,
    title: "An operator's outcomes",
    description:
      "The outcomes of one operator's requests, as on the results channel, on a topic only that operator " +
      'reads (Kafka ACLs: deploy/compose/operator-acls.sh). One per operator of results.operators ' +
      `(IMEIFLOW_RESULTS_OPERATORS, default ${operators.join(', ')}); the pattern is results.topicPattern ` +
      `(IMEIFLOW_RESULTS_TOPIC_PATTERN, default ${topicPattern}). Results follow results.customsView ` +
      '(default reduced: no application, procedure or grounds).',
    parameters: {
      operator: { enum: [...operators], description: 'The operator, as its requests name it in `operator`.' },
    },
    messages: { result: { $ref: '#/components/messages/result' } },
    bindings: { kafka: binding },
    'x-written-by': ['imeiflow'],
    'x-read-by': ['that operator'],
  };
  operations['sendOperatorResults'] = {
    action: 'send',
    title: "Publish an operator's outcomes",
    channel: { $ref: '#/channels/operatorResults' },
    messages: [{ $ref: '#/channels/operatorResults/messages/result' }],
  };
}

/** The AsyncAPI 3 document, as a plain object. */
export function asyncApiDocument(config: Config = loadConfig({ env: {} })): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};

  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};

  for (const role of TOPIC_ROLE_NAMES) {
    const topic: TopicRole = TOPIC_ROLES[role];
    const address = config.topics[role];
    const bindings = {
      kafka: {
        topic: address,
        partitions: topic.partitions ?? config.kafka.topicPartitions,
        replicas: config.kafka.replicationFactor,
        topicConfiguration: {
          'cleanup.policy': [topic.cleanup],
          // The retention defaults (src/kafka/topic-settings.ts), as numbers.
          ...Object.fromEntries(
            Object.entries(topicSettings(role, config.retention)).map(([key, value]) => [key, Number(value)]),
          ),
        },
        bindingVersion: KAFKA_BINDING,
      },
    };
    const description = `${topic.description}\n\nThe name is configurable: ${topic.env} (default ${address}).`;
    const channelRef = { $ref: `#/channels/${role}` };
    const { value } = topic;
    if (!value.contract) {
      messages[`${role}Record`] = internalMessage(role, topic, value.encoding);
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
      for (const action of ['send', 'receive'] as const)
        operations[`${action}${capitalised(role)}`] = { action, channel: channelRef, messages: [messageRef] };
      continue;
    }
    const keySchema = topic.keySchema ?? z.string().describe(topic.key);
    for (const message of value.messages) {
      messages[message.name] = contractMessage(message, keySchema);
      schemas[message.payload] = jsonSchema(message.schema, message.io);
    }
    channels[role] = {
      address,
      title: topic.title,
      description: `${description}\n\nWritten by: ${topic.writtenBy.join(', ')}. Read by: ${topic.readBy.join(', ')}.`,
      messages: Object.fromEntries(
        value.messages.map(({ name }) => [name, { $ref: `#/components/messages/${name}` }]),
      ),
      bindings,
      'x-written-by': topic.writtenBy,
      'x-read-by': topic.readBy,
    };
    const action = value.imeiflow;
    operations[`${action}${capitalised(role)}`] = {
      action,
      title: `${action === 'receive' ? 'Read' : 'Publish'} ${topic.title.toLowerCase()}`,
      channel: channelRef,
      messages: value.messages.map(({ name }) => ({ $ref: `#/channels/${role}/messages/${name}` })),
    };
  }

  if (config.results.perOperator) addOperatorResults(config, channels, operations);

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
    components: { messages, schemas },
  };
}

/** docs/asyncapi.yaml as `npm run docs:asyncapi` writes it. */
export function asyncApiYaml(config?: Config): string {
  const header =
    '# Generated by `npm run docs:asyncapi` (scripts/asyncapi.ts) from the zod schemas in src/domain/.\n' +
    '# Do not edit by hand: test/unit/asyncapi.test.ts fails when this file is not current.\n';
  return header + stringify(asyncApiDocument(config), { lineWidth: 0, aliasDuplicateObjects: false });
}
