/**
 * Bearer tokens: created once and shown once, stored only as SHA-256, looked up by hash and
 * compared in constant time. A revoked token stops working at once; one unused for
 * `idleDays` (60 by default, seed 001 §14) is blocked on its next use and stays blocked. An
 * account that makes too many refused requests is blocked until an admin unblocks it (seed 001
 * §19; src/security/access-refusals.ts). Accounts are cluster-wide (see TokenEvent).
 *
 * An `operator` account names its operator (src/security/tenancy.ts). Client-certificate holders
 * (src/http/tls.ts) get the same rules, by IIN: their use is recorded cluster-wide, one unused for
 * `idleDays` is blocked, and `imeiflow cert revoke IIN` refuses them on every instance at once
 * (seed 001 §10, §14), without a restart.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CertificateRecord, TokenRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Role } from './roles.js';
import { isOperatorCode } from './tenancy.js';
import {
  applyTokenEvent,
  blockReasonOf,
  lmdbTokenTable,
  NAME_PATTERN,
  type TokenEvent,
  type TokenPublisher,
} from './token-events.js';

const TOKEN_PREFIX = 'ifl_';
/** Recording every use would write on every request: once a minute per token is plenty. */
const LAST_USED_RESOLUTION_MS = 60_000;
const DAY_MS = 86_400_000;

export type Authentication =
  /** `operator`: the operator code of an `operator` account that names one, else null. */
  | { readonly ok: true; readonly name: string; readonly role: Role; readonly operator: string | null }
  /** No token, or none this cluster issued: there is no account to hold it against. */
  | { readonly ok: false; readonly problem: 'missing' | 'unknown' }
  /** A real account's token that may not be used: the refusal is the account's. */
  | {
      readonly ok: false;
      /** `expired`: blocked for inactivity; `blocked`: blocked for refused requests. */
      readonly problem: 'revoked' | 'expired' | 'blocked';
      readonly name: string;
      readonly role: Role;
    };

function hashOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isTokenName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/** What a certificate holder's refusal says: revoked by an admin, or blocked for inactivity. */
export type CertificateAuthentication =
  | { readonly ok: true }
  | { readonly ok: false; readonly problem: 'revoked' | 'expired' };

/**
 * A new token for the account `name`, and the event that records it (its hash only). `operator`:
 * the operator an `operator` account acts for (the command line insists on one; an operator
 * account without one is unbound: src/security/tenancy.ts).
 */
export function newToken(
  name: string,
  role: Role,
  now = new Date(),
  operator: string | null = null,
): { token: string; event: TokenEvent } {
  if (!isTokenName(name)) throw new Error(`token name ${JSON.stringify(name)} must be 1–64 of a-z 0-9 . _ -`);
  if (operator !== null && role !== 'operator')
    throw new Error(`only an operator account names an operator (this one is ${role})`);
  if (operator !== null && !isOperatorCode(operator))
    throw new Error(`operator code ${JSON.stringify(operator)} must be 1–64 of A-Z a-z 0-9 . _ -`);
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return {
    token,
    event: {
      type: 'create',
      name,
      role,
      hash: hashOf(token),
      at: now.toISOString(),
      ...(operator === null ? {} : { operator }),
    },
  };
}

/** What `reinstateCertificate` found: done, or why there was nothing to lift. */
export type ReinstateResult = 'reinstated' | 'unknown' | 'active';

/** Whether a holder may be reinstated (the CLI asks it of the cluster's holders). */
export function reinstatable(record: CertificateRecord | undefined): ReinstateResult {
  if (record === undefined) return 'unknown';
  return record.revokedAt === null && record.blockedAt === null ? 'active' : 'reinstated';
}

/** When a holder last showed activity: their idle clock runs from here. */
function lastActivityOf(record: CertificateRecord): string {
  let latest = record.enrolledAt;
  for (const at of [record.lastUsedAt, record.reinstatedAt]) if (at !== null && at > latest) latest = at;
  return latest;
}

/** What `unblock` found: done, or why there was nothing to lift. */
export type UnblockResult = 'unblocked' | 'unknown' | 'not-blocked' | 'idle' | 'revoked';

/** Whether an account's block may be lifted by `unblock` (the CLI asks it of the cluster's accounts). */
export function unblockable(record: TokenRecord | undefined): UnblockResult {
  if (record === undefined) return 'unknown';
  if (record.revokedAt !== null) return 'revoked';
  const reason = blockReasonOf(record);
  if (reason === null) return 'not-blocked';
  return reason === 'idle' ? 'idle' : 'unblocked';
}

export class TokenService {
  readonly #store: Store;
  readonly #idleMs: number;
  readonly #publish: TokenPublisher | undefined;
  /** Use already sent per account (once a minute is plenty), so every request is not a write. */
  readonly #usePublished = new Map<string, number>();

  /** `publish`: the cluster's tokens topic; without it, changes go to this store only. */
  constructor(store: Store, idleDays: number, publish?: TokenPublisher) {
    this.#store = store;
    this.#idleMs = idleDays * DAY_MS;
    this.#publish = publish;
  }

  async #emit(event: TokenEvent): Promise<void> {
    if (this.#publish !== undefined) {
      await this.#publish(event);
      return;
    }
    await this.#store.env.transaction(() => applyTokenEvent(lmdbTokenTable(this.#store), event));
  }

  /**
   * Create (or replace) the account `name`; returns the token, which is not stored anywhere.
   * `options`: when (a Date, or `now`), and the operator an `operator` account acts for.
   */
  async create(
    name: string,
    role: Role,
    options: Date | { readonly now?: Date; readonly operator?: string } = {},
  ): Promise<string> {
    const { now = new Date(), operator } = options instanceof Date ? { now: options } : options;
    const { token, event } = newToken(name, role, now, operator ?? null);
    await this.#emit(event);
    return token;
  }

  /** Revoke `name` (false if this instance knows no such account). */
  async revoke(name: string, now = new Date()): Promise<boolean> {
    this.#store.env.resetReadTxn();
    if (this.#store.tokens.get(name) === undefined) return false;
    await this.#emit({ type: 'revoke', name, at: now.toISOString() });
    return true;
  }

  /**
   * Block `name` for refused requests (seed 001 §19), on every instance once the tokens topic
   * has it. Resolves once Kafka has the event; false (and nothing sent) when this instance
   * knows no such account, or it is already blocked or revoked.
   */
  async block(name: string, now = new Date()): Promise<boolean> {
    this.#store.env.resetReadTxn();
    const record = this.#store.tokens.get(name);
    if (record === undefined || record.revokedAt !== null || record.blockedAt !== null) return false;
    await this.#emit({ type: 'block', name, at: now.toISOString(), reason: 'refusals' });
    return true;
  }

  /** Lift a block for refused requests; what stands in the way otherwise (nothing is sent then). */
  async unblock(name: string, now = new Date()): Promise<UnblockResult> {
    this.#store.env.resetReadTxn();
    const result = unblockable(this.#store.tokens.get(name));
    if (result === 'unblocked') await this.#emit({ type: 'unblock', name, at: now.toISOString() });
    return result;
  }

  list(): TokenRecord[] {
    this.#store.env.resetReadTxn();
    return [...this.#store.tokens.getRange()].map(({ value }) => value);
  }

  /** Send an event without waiting; `key`: whose use it forgets on failure. */
  #record(event: TokenEvent, key = 'name' in event ? event.name : `cert/${event.iin}`): void {
    this.#emit(event).catch(() => {
      // Best effort: the next request sends it again (use), or blocks again (block).
      this.#usePublished.delete(key);
    });
  }

  /** Check an `Authorization` header value. */
  authenticate(header: string | undefined, now = new Date()): Authentication {
    if (header === undefined || !header.startsWith('Bearer ')) return { ok: false, problem: 'missing' };
    const token = header.slice('Bearer '.length).trim();
    if (!token.startsWith(TOKEN_PREFIX)) return { ok: false, problem: 'unknown' };
    const hash = hashOf(token);
    // A revocation may have just been applied: read the latest committed state.
    this.#store.env.resetReadTxn();
    const name = this.#store.tokenHashes.get(hash);
    const record = name === undefined ? undefined : this.#store.tokens.get(name);
    if (record === undefined || !timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) {
      return { ok: false, problem: 'unknown' };
    }
    const role = record.role as Role;
    const account = { name: record.name, role };
    if (record.revokedAt !== null) return { ok: false, problem: 'revoked', ...account };
    const blocked = blockReasonOf(record);
    if (blocked !== null)
      return { ok: false, problem: blocked === 'idle' ? 'expired' : 'blocked', ...account };
    const lastActivity = Date.parse(record.lastUsedAt ?? record.createdAt);
    const nowMs = now.getTime();
    if (nowMs - lastActivity > this.#idleMs) {
      // Blocked on its next use and for good (seed 001), on every instance.
      this.#record({ type: 'block', name: record.name, at: now.toISOString(), reason: 'idle' });
      return { ok: false, problem: 'expired', ...account };
    }
    const published = this.#usePublished.get(record.name) ?? 0;
    if (
      nowMs - published > LAST_USED_RESOLUTION_MS &&
      (record.lastUsedAt === null || nowMs - Date.parse(record.lastUsedAt) > LAST_USED_RESOLUTION_MS)
    ) {
      this.#usePublished.set(record.name, nowMs);
      this.#record({ type: 'use', name: record.name, at: now.toISOString() });
    }
    return {
      ok: true,
      name: record.name,
      role,
      operator: role === 'operator' ? (record.operator ?? null) : null,
    };
  }

  /**
   * Enrol the configured certificate holders the cluster does not know yet: their idle clock
   * starts now. Called as the control plane starts, once the tables have caught up, so a holder
   * the cluster knows is not enrolled again.
   */
  async enrolCertificates(iins: readonly string[], now = new Date()): Promise<void> {
    this.#store.env.resetReadTxn();
    for (const iin of iins) {
      if (this.#store.certificates.get(iin) === undefined)
        await this.#emit({ type: 'cert-enrol', iin, at: now.toISOString() });
    }
  }

  /**
   * Check a certificate holder's account, the certificate itself already verified and mapped
   * (src/http/tls.ts). Records the use cluster-wide at most once a minute, and blocks a holder
   * idle for `idleDays` on every instance (seed 001 §14).
   */
  authenticateCertificate(iin: string, now = new Date()): CertificateAuthentication {
    // A revocation may have just been applied: read the latest committed state.
    this.#store.env.resetReadTxn();
    const record = this.#store.certificates.get(iin);
    const key = `cert/${iin}`;
    const nowMs = now.getTime();
    if (record === undefined) {
      // Configured since this instance's control plane started (or the enrolment still on its
      // way): known from this use on.
      if (!this.#usePublished.has(key)) {
        this.#usePublished.set(key, nowMs);
        this.#record({ type: 'cert-enrol', iin, at: now.toISOString() }, key);
      }
      return { ok: true };
    }
    if (record.revokedAt !== null) return { ok: false, problem: 'revoked' };
    if (record.blockedAt !== null) return { ok: false, problem: 'expired' };
    if (nowMs - Date.parse(lastActivityOf(record)) > this.#idleMs) {
      this.#record({ type: 'cert-block', iin, at: now.toISOString() }, key);
      return { ok: false, problem: 'expired' };
    }
    const published = this.#usePublished.get(key) ?? 0;
    if (
      nowMs - published > LAST_USED_RESOLUTION_MS &&
      (record.lastUsedAt === null || nowMs - Date.parse(record.lastUsedAt) > LAST_USED_RESOLUTION_MS)
    ) {
      this.#usePublished.set(key, nowMs);
      this.#record({ type: 'cert-use', iin, at: now.toISOString() }, key);
    }
    return { ok: true };
  }

  /** Revoke a certificate holder by IIN, on every instance (false: already revoked). */
  async revokeCertificate(iin: string, now = new Date()): Promise<boolean> {
    this.#store.env.resetReadTxn();
    const known = this.#store.certificates.get(iin);
    if (known !== undefined && known.revokedAt !== null) return false;
    await this.#emit({ type: 'cert-revoke', iin, at: now.toISOString() });
    return true;
  }

  /** Lift a holder's revocation or idle block; what stands in the way otherwise (nothing is sent then). */
  async reinstateCertificate(iin: string, now = new Date()): Promise<ReinstateResult> {
    this.#store.env.resetReadTxn();
    const result = reinstatable(this.#store.certificates.get(iin));
    if (result === 'reinstated') await this.#emit({ type: 'cert-reinstate', iin, at: now.toISOString() });
    return result;
  }

  listCertificates(): CertificateRecord[] {
    this.#store.env.resetReadTxn();
    return [...this.#store.certificates.getRange()].map(({ value }) => value);
  }
}
