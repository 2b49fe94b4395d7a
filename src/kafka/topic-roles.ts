/**
 * Every topic imeiflow reads or writes, declared once (topic-declaration.ts says what a
 * declaration holds): its default name and the variable that overrides it, how it is
 * partitioned, keyed and cleaned up, how long it keeps what it holds, its messages' schemas
 * (src/domain/messages.ts, release-decision.ts) and who writes and reads it — the device topics
 * in device-topics.ts, the global tables' in table-topics.ts. Derived from here: the `topics`
 * settings, topic creation and its Kafka settings (topic-settings.ts),
 * deploy/compose/create-topics.sh and docs/topics.md's table (`npm run docs:topics`), the
 * AsyncAPI document (`npm run docs:asyncapi`), and the tests' topic lists.
 */
import { DEVICE_TOPICS } from './device-topics.js';
import { TABLE_TOPICS } from './table-topics.js';
import type { TopicRole } from './topic-declaration.js';

export const TOPIC_ROLES = { ...DEVICE_TOPICS, ...TABLE_TOPICS } as const satisfies Record<string, TopicRole>;

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
