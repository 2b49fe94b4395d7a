/**
 * Each topic's Kafka settings beyond its cleanup policy, from its declared retention
 * (topic-roles.ts) and the retention configuration (docs/confidential-data.md). imeiflow applies
 * them to the topics it creates; `deploy/compose/create-topics.sh` is written from the same
 * declarations at the defaults (`npm run docs:topics`); an existing topic is changed with
 * kafka-configs.sh (docs/operations.md).
 */
import type { RetentionConfig } from '../config/config.js';
import { DAY_MS } from '../domain/retention.js';
import type { TopicRetention } from './topic-declaration.js';
import { TOPIC_ROLES, type TopicRoleName } from './topic-roles.js';

/** Topic configuration properties, as Kafka takes them (strings). */
export type TopicSettings = Readonly<Record<string, string>>;

/** The properties a retention kind sets, at the configured retention. */
export function retentionSettings(kept: TopicRetention, retention: RetentionConfig): TopicSettings {
  switch (kept.kind) {
    case 'days':
      return { 'retention.ms': String(retention[kept.setting] * DAY_MS) };
    case 'forever':
      return { 'retention.ms': '-1' };
    // Segments roll and are cleaned within the lag, and a tombstone is kept that long after
    // cleaning (so a restore in progress still sees it), then it and what it deleted are gone.
    case 'forgetting': {
      const lag = String(retention.compactionLagMs);
      return { 'segment.ms': lag, 'max.compaction.lag.ms': lag, 'delete.retention.ms': lag };
    }
    case 'kafka':
      return {};
  }
}

export function topicSettings(role: TopicRoleName, retention: RetentionConfig): TopicSettings {
  const declared = TOPIC_ROLES[role];
  return { ...retentionSettings(declared.retention, retention), ...declared.properties };
}
