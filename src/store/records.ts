/**
 * Values of the stores that only the service writes (the index records the rules read are in
 * src/domain/types.ts, next to the rules).
 */
import type { PendingReason, ReviewReason, SourceId, VerifyRequest } from '../domain/types.js';

/** A request waiting for evidence (stage awaiting_kgd) or for a reviewer (stage review). */
export interface PendingEntry {
  readonly request: VerifyRequest;
  /** The request partition: pending state is partition-local and moves with it. */
  readonly partition: number;
  readonly source: SourceId;
  readonly stage: 'awaiting_kgd' | 'review';
  readonly reason: PendingReason | ReviewReason;
  readonly detail: string;
  /** When the request first became pending (ISO, UTC). */
  readonly since: string;
  /**
   * When this stage's deadline passes (ISO, UTC): for awaiting_kgd when the request moves to
   * review, for review when a reviewer should have decided (src/domain/deadline.ts). Null in
   * review entries written by earlier builds (read them with `stageDeadline`).
   */
  readonly deadline: string | null;
}

export interface AuditEntry {
  readonly at: string;
  readonly atAstana: string;
  readonly actor: string;
  readonly role: string;
  readonly action: string;
  readonly basis: string | null;
  readonly target: string | null;
}

/** Stored as JSON, not msgpack: it must be readable whatever the structure list says. */
export interface StoreMeta {
  readonly schemaVersion: number;
  readonly structures: string;
  readonly createdAt: string;
}

/** A command waiting to be sent to partition `partition` of the commands topic. */
export interface OutboxEntry {
  readonly partition: number;
  readonly command: unknown;
}

/** A bearer token's account: the token itself is never stored, only its SHA-256. */
export interface TokenRecord {
  readonly name: string;
  readonly role: string;
  readonly hash: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  /** Set when the account was blocked for inactivity (seed 001: 60 days without requests). */
  readonly blockedAt: string | null;
}
