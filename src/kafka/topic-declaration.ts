/**
 * What a topic's declaration holds (src/kafka/topic-roles.ts declares every topic with it): how
 * the topic is partitioned, keyed, cleaned up and kept, its messages and who writes and reads it.
 */
import type { ZodType } from 'zod';

/**
 * `device`: partition N belongs to the owner of the devices whose IMEI body hashes to N (the
 * requests topic's partition count is N; `exact` topics must have exactly N partitions so the
 * range assignor gives partition N of each to the same instance).
 * `global`: every instance reads every partition (a global table, like Kafka Streams'
 * GlobalKTable).
 */
export type TopicScope = 'device' | 'global';

/**
 * How long a topic keeps what it holds, from the retention settings (docs/confidential-data.md):
 * `days` for `retention.ms` from a setting; `forgetting` for a compacted topic holding personal
 * data, whose superseded records and tombstones are gone within `retention.compactionLagMs`;
 * `forever`; `kafka` for Kafka's defaults (no personal data).
 */
export type TopicRetention =
  | {
      readonly kind: 'days';
      readonly setting: 'requestsDays' | 'resultsDays' | 'dlqDays' | 'declarationsDays';
    }
  | { readonly kind: 'forgetting' | 'forever' | 'kafka' };

/** Headers a message carries (their names and forms: scripts/asyncapi-document.ts, from the pipeline's constants). */
export type HeaderSet = 'request' | 'position' | 'optionalPosition';

/** A message of the contract: what others write for imeiflow, or read from it. */
export interface TopicMessage {
  readonly name: string;
  readonly title: string;
  readonly summary: string;
  readonly contentType: 'application/json' | 'application/msgpack';
  /** The schema's name in the contract, and the schema the code validates with. */
  readonly payload: string;
  readonly schema: ZodType;
  /** `input`: as accepted (defaults may be left out); `output`: as written. */
  readonly io: 'input' | 'output';
  readonly headers: HeaderSet | null;
}

/**
 * A contract topic's messages and what imeiflow does with it; an internal topic's encoding only
 * (imeiflow alone writes and reads it: not a contract, it may change between versions).
 */
export type TopicValue =
  | {
      readonly contract: true;
      readonly imeiflow: 'send' | 'receive';
      readonly messages: readonly TopicMessage[];
    }
  | { readonly contract: false; readonly encoding: 'application/json' | 'application/msgpack' };

export interface TopicRole {
  /** The default name; `env` overrides it. */
  readonly name: string;
  readonly env: string;
  readonly title: string;
  /** One line (docs/topics.md, docs/configuration.md). */
  readonly about: string;
  /** In full (the AsyncAPI channel). */
  readonly description: string;
  readonly scope: TopicScope;
  /** device topics: exactly as many partitions as the requests topic (else at least as many). */
  readonly exact: boolean;
  /** Partitions to create when imeiflow creates it (null: kafka.topicPartitions). */
  readonly partitions: number | null;
  /** The key as docs/topics.md names it; `keySchema` for a contract topic's key. */
  readonly key: string;
  readonly keySchema?: ZodType;
  readonly value: TopicValue;
  readonly writtenBy: readonly string[];
  readonly readBy: readonly string[];
  readonly cleanup: 'delete' | 'compact';
  readonly retention: TopicRetention;
  /** Why it is kept as long as it is (docs/topics.md, docs/operations.md). */
  readonly why: string;
  /** Topic properties beyond cleanup and retention. */
  readonly properties?: Readonly<Record<string, string>>;
}

export const JSON_CONTENT = 'application/json' as const;
export const MSGPACK_CONTENT = 'application/msgpack' as const;

/** A declaration, checked as one where it is written. */
export const topicRole = (role: TopicRole): TopicRole => role;
