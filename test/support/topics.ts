/**
 * The tests' topic names without a broker: every role of src/kafka/topic-roles.ts under a short
 * name (its role in kebab case, `pendingChangelog` → `pending-changelog`), which the tests' DLQ
 * entries and in-memory logs name. Tests on a broker use bench/lib/harness.ts `uniqueTopics`.
 */
import { TOPIC_ROLE_NAMES, type TopicNames } from '../../src/kafka/topic-roles.js';

export const TEST_TOPICS: TopicNames = Object.fromEntries(
  TOPIC_ROLE_NAMES.map((role) => [role, role.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)]),
) as TopicNames;
