/**
 * Refused requests at the control plane's doors: a failed authentication (no token, an unknown,
 * revoked or blocked one, a client certificate that is not accepted) or a role that does not
 * allow what was asked. Seed 001 §19 asks that violations be detected and access blocked at once:
 * each refusal is counted (`imeiflow_access_refusals_total`, alerted on), written to the audit
 * trail, and an account that is refused `limit` times within `windowMs` for what its role does
 * not allow is blocked on every instance (a `block` token event) until an admin unblocks it.
 *
 * Who a refusal is held against: the account its credential names, when the credential is a real
 * account's (a token this cluster issued, a certificate mapped to a person). An unknown token, no
 * token or a certificate that does not verify names nobody — its IIN is unproven, so blocking that
 * person would let anyone lock anyone out — so such refusals are counted and audited by the
 * client's address and block nothing.
 *
 * The counts live in each instance's memory: with several instances behind a balancer an account
 * may be refused up to `limit` times on each before one of them blocks it. The block itself is
 * cluster-wide.
 */
import type { Logger } from '../log.js';
import type { AuditEvent } from './audit-log.js';

export const REFUSAL_REASONS = [
  /** No `Authorization: Bearer` token. */
  'missing',
  /** A token this cluster never issued (or no longer knows). */
  'unknown',
  'revoked',
  /** Blocked for inactivity (seed 001 §14). */
  'expired',
  /** Blocked for refused requests (seed 001 §19). */
  'blocked',
  /** A client certificate that does not verify, names no IIN or maps to nobody. */
  'certificate',
  /** Authenticated, but the role does not allow it. */
  'forbidden',
  /**
   * An operator account that names no operator asked for personal data (src/security/tenancy.ts).
   * Not held against the account: it is an account created before operators were tenants, not a
   * probe, and blocking it would stop what it may still do.
   */
  'unbound',
  /** Past a per-account rate limit (dry runs: `security.dryRunLimit`). Counted, audited, never blocking. */
  'rate-limited',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface RefusedAccount {
  readonly name: string;
  readonly role: string;
  /**
   * What identified it. Only token accounts are blocked here: a certificate holder is revoked by
   * an admin (`imeiflow cert revoke IIN`), so its refusals are counted and audited under the
   * person's name.
   */
  readonly by: 'token' | 'certificate';
}

export interface Refusal {
  readonly reason: RefusalReason;
  /** The account the credential named (a known token, a mapped certificate); null: nobody's. */
  readonly account: RefusedAccount | null;
  /** The client's address: what a refusal without an account is counted against. */
  readonly address: string;
  /** What was asked, e.g. `GET /v1/audit`. */
  readonly request: string;
  /** What the answer said. */
  readonly detail: string;
}

export interface RefusalCounters {
  refused(reason: RefusalReason): void;
  accountBlocked(): void;
}

export interface AccessRefusalsOptions {
  /** Blocks an account cluster-wide; false when it was unknown, already blocked or revoked. */
  readonly block: (name: string, now: Date) => Promise<boolean>;
  readonly audit: (event: AuditEvent, now: Date) => Promise<unknown>;
  readonly counters: RefusalCounters;
  readonly log: Logger;
  /** Refusals within `windowMs` that block an account (`security.refusalLimit`). */
  readonly limit: number;
  readonly windowMs: number;
  /** Addresses and accounts tracked at once; the least recently refused go first. */
  readonly maxTracked?: number;
}

/**
 * Enough for every account and for the addresses of a broad scan; what is forgotten past it is
 * only an address's audit allowance, never an account's count (they are kept apart).
 */
const MAX_TRACKED = 10_000;
/** Longer details (a certificate's verification error) are cut: the audit target is one line. */
const MAX_DETAIL = 200;

/**
 * The times of the last refusals per key, within a sliding window: at most `cap` times per key
 * and `maxKeys` keys, so a flood from many addresses takes bounded memory.
 */
export class RefusalWindow {
  readonly #cap: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  /** Insertion order is recency order: a key noted again is moved to the end. */
  readonly #times = new Map<string, number[]>();

  constructor(cap: number, windowMs: number, maxKeys: number) {
    this.#cap = cap;
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  /** Note a refusal of `key` at `nowMs`; how many of its refusals fall in the window, up to `cap`. */
  note(key: string, nowMs: number): number {
    const since = nowMs - this.#windowMs;
    const times = (this.#times.get(key) ?? []).filter((t) => t > since);
    times.push(nowMs);
    if (times.length > this.#cap) times.splice(0, times.length - this.#cap);
    this.#times.delete(key);
    this.#times.set(key, times);
    if (this.#times.size > this.#maxKeys) {
      const oldest = this.#times.keys().next();
      if (oldest.done !== true) this.#times.delete(oldest.value);
    }
    return times.length;
  }

  forget(key: string): void {
    this.#times.delete(key);
  }

  get size(): number {
    return this.#times.size;
  }
}

export class AccessRefusals {
  readonly #options: AccessRefusalsOptions;
  /**
   * Refusals per account or address, for the audit: the first `limit` within the window are
   * written, the rest only counted, so a flood of bad requests cannot flood the audit trail.
   */
  readonly #audited: RefusalWindow;
  /** Refusals of usable accounts for what their role does not allow: `limit` of them block it. */
  readonly #strikes: RefusalWindow;

  constructor(options: AccessRefusalsOptions) {
    this.#options = options;
    const maxTracked = options.maxTracked ?? MAX_TRACKED;
    // One more than the limit is kept, to tell "at the limit" from "past it".
    this.#audited = new RefusalWindow(options.limit + 1, options.windowMs, maxTracked);
    this.#strikes = new RefusalWindow(options.limit, options.windowMs, maxTracked);
  }

  /**
   * Count, audit and, past the limit, block. Resolves once the audit entry and any block are in
   * the cluster's hands; a failure to write them is logged, never thrown: the request is refused
   * either way.
   */
  async record(refusal: Refusal, now = new Date()): Promise<void> {
    const { counters, limit, log } = this.#options;
    counters.refused(refusal.reason);
    const { account } = refusal;
    const actor = account === null ? `address:${refusal.address}` : account.name;
    const nowMs = now.getTime();
    const seen = this.#audited.note(
      account === null ? `address:${refusal.address}` : `account:${actor}`,
      nowMs,
    );
    // Only an account that could act is blocked: one already revoked or blocked gains nothing.
    const strikes =
      account?.by === 'token' && refusal.reason === 'forbidden' ? this.#strikes.note(actor, nowMs) : 0;
    const blocking = account !== null && strikes >= limit;
    // A second refusal while the first block is on its way counts afresh, not as a second block.
    if (blocking) this.#strikes.forget(actor);

    if (seen <= limit) {
      const detail =
        refusal.detail.length > MAX_DETAIL ? `${refusal.detail.slice(0, MAX_DETAIL)}…` : refusal.detail;
      const more =
        seen === limit
          ? `; further refusals of this ${account === null ? 'address' : 'account'} within ${this.#window()} are counted, not audited`
          : '';
      await this.#audit(
        {
          actor,
          role: account?.role ?? 'none',
          action: refusal.reason === 'forbidden' ? 'access.forbidden' : 'access.refused',
          basis: null,
          target: `${refusal.request} from ${refusal.address} (${refusal.reason}: ${detail})${more}`,
        },
        now,
      );
    }
    if (blocking) await this.#block(account, now);
    log.debug({ reason: refusal.reason, actor, request: refusal.request }, 'request refused');
  }

  async #block(account: RefusedAccount, now: Date): Promise<void> {
    const { block, counters, limit, log } = this.#options;
    let blocked: boolean;
    try {
      blocked = await block(account.name, now);
    } catch (error) {
      // The next refusal past the limit tries again.
      log.error({ err: error, account: account.name }, 'blocking an account after refused requests failed');
      return;
    }
    if (!blocked) return;
    counters.accountBlocked();
    log.warn(
      { account: account.name, role: account.role, limit, windowMs: this.#options.windowMs },
      'account blocked after refused requests; `imeiflow token unblock` lifts it',
    );
    await this.#audit(
      {
        actor: 'imeiflow',
        role: 'system',
        action: 'token.block',
        basis: `${limit} refused requests within ${this.#window()} (seed 001 §19)`,
        target: account.name,
      },
      now,
    );
  }

  async #audit(event: AuditEvent, now: Date): Promise<void> {
    try {
      await this.#options.audit(event, now);
    } catch (error) {
      this.#options.log.error(
        { err: error, action: event.action, actor: event.actor },
        'a refused request could not be audited',
      );
    }
  }

  #window(): string {
    const { windowMs } = this.#options;
    return windowMs % 60_000 === 0 ? `${windowMs / 60_000} min` : `${windowMs / 1000} s`;
  }
}
