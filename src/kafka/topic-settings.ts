/**
 * Each topic's Kafka settings beyond its cleanup policy: how long it keeps what it holds, from
 * the retention configuration (README, "Confidential data"). imeiflow applies them to the topics
 * it creates; `deploy/compose/create-topics.sh` sets the defaults (a test keeps the two equal);
 * an existing topic is changed with kafka-configs.sh (docs/operations.md).
 */
import type { RetentionConfig } from '../config/config.js';
import { DAY_MS } from '../domain/retention.js';
import type { TopicRoleName } from './topic-roles.js';

/** A journal record holds a whole batch's outputs. */
const JOURNAL_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Topic configuration properties, as Kafka takes them (strings). */
export type TopicSettings = Readonly<Record<string, string>>;

const ms = (days: number): string => String(days * DAY_MS);

/**
 * A compacted topic holding personal data: segments roll and are cleaned within the lag, and a
 * tombstone is kept that long after cleaning (so a restore in progress still sees it), then it
 * and what it deleted are gone.
 */
function forgetting(retention: RetentionConfig): TopicSettings {
  const lag = String(retention.compactionLagMs);
  return { 'segment.ms': lag, 'max.compaction.lag.ms': lag, 'delete.retention.ms': lag };
}

export function topicSettings(role: TopicRoleName, retention: RetentionConfig): TopicSettings {
  switch (role) {
    // Requests hold owners and phones; kept as long as a crash or an outage may need them again.
    case 'requests':
    case 'repartition':
    case 'commands':
      return { 'retention.ms': ms(retention.requestsDays) };
    case 'results':
      return { 'retention.ms': ms(retention.resultsDays) };
    case 'dlq':
      return { 'retention.ms': ms(retention.dlqDays) };
    // KGD's decisions: as long as the declarations they become (an application may come in
    // several messages, so the topic is not compacted).
    case 'decisions':
      return { 'retention.ms': ms(retention.declarationsDays) };
    // The audit trail is archived, never destroyed by imeiflow (seed 001 §25, §31).
    case 'audit':
      return { 'retention.ms': '-1' };
    case 'journal':
      return { ...forgetting(retention), 'max.message.bytes': String(JOURNAL_MAX_MESSAGE_BYTES) };
    // The registry's changelog: the latest record per IMEI is kept while it matters; purges and
    // revocations leave tombstones that take the rest away.
    case 'pendingChangelog':
    case 'confirmations':
    case 'revocations':
      return forgetting(retention);
    // No personal data: Kafka's defaults.
    case 'tac':
    case 'blocklist':
    case 'localProduction':
    case 'tokens':
    case 'exports':
      return {};
  }
}
