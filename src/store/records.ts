/**
 * Values of the stores that only the service writes (the index records the rules read are in
 * src/domain/types.ts, next to the rules).
 */

/** Waiting requests are the domain's (src/domain/types.ts); re-exported for the stores. */
export type { PendingEntry } from '../domain/types.js';

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
  /**
   * Set while a migration to `schemaVersion` runs: an older imeiflow must not open the store.
   * `true` up to schema 3; 4 from schema 4 on, because the releases of schemas 2 and 3 resume any
   * store marked `true` and would write their index layout into a store of schema 4.
   */
  readonly migrating?: true | 4;
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
  /** Set when the account was blocked: for inactivity (seed 001 §14) or for refused requests (§19). */
  readonly blockedAt: string | null;
  /**
   * Why it is blocked; absent on records written before refusals blocked accounts (inactivity).
   * Absent while not blocked, so an active account keeps the shared structure of its shape.
   */
  readonly blockedFor?: 'idle' | 'refusals';
  /**
   * The operator an `operator` account acts for (operators are tenants: src/security/tenancy.ts).
   * Absent for other roles, and for operator accounts created before operators were tenants.
   */
  readonly operator?: string;
}

/**
 * A client-certificate holder's account state, by IIN (src/security/tokens.ts): who may act is
 * configuration (`http.tls.clientCertificates`); when they last did, and whether they may still,
 * is cluster-wide, like a token's.
 */
export interface CertificateRecord {
  readonly iin: string;
  /** When the cluster first knew the holder: their idle clock runs from here until a first use. */
  readonly enrolledAt: string;
  readonly lastUsedAt: string | null;
  /** `imeiflow cert revoke IIN`. */
  readonly revokedAt: string | null;
  /** Blocked for inactivity (seed 001 §14). */
  readonly blockedAt: string | null;
  /** An admin lifted a revocation or block (`imeiflow cert reinstate IIN`): the idle clock restarts. */
  readonly reinstatedAt: string | null;
}

/**
 * A loaded KGD monthly export (seed 000 §11), one per month, keyed `kgd/<YYYY-MM>`: the latest
 * load of a month replaces the one before (src/store/kgd-exports.ts).
 */
export interface KgdExportRecord {
  /** The month the export covers, `YYYY-MM` (Astana). */
  readonly month: string;
  /** Where the month came from: given on the load, or the decisions' dates. */
  readonly monthFrom: 'option' | 'decisions';
  /** The file's name as loaded (the CLI's path, the upload's name). */
  readonly file: string;
  /** Rows loaded from it. */
  readonly rows: number;
  /** When its decisions were delivered (ISO, UTC). */
  readonly loadedAt: string;
  /** Who loaded it: a token's name, or `cli:<user>`. */
  readonly actor: string;
}
