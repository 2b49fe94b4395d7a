/**
 * Bearer tokens: created once and shown once, stored only as SHA-256, looked up by hash and
 * compared in constant time. A revoked token stops working at once; one unused for
 * `idleDays` (60 by default, seed 001) is blocked on its next use and stays blocked.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Role } from './roles.js';

const TOKEN_PREFIX = 'ifl_';
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Recording every use would write on every request: once a minute per token is plenty. */
const LAST_USED_RESOLUTION_MS = 60_000;
const DAY_MS = 86_400_000;

export type Authentication =
  | { readonly ok: true; readonly name: string; readonly role: Role }
  | { readonly ok: false; readonly problem: 'missing' | 'unknown' | 'revoked' | 'expired' };

function hashOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function isTokenName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

export class TokenService {
  readonly #store: Store;
  readonly #idleMs: number;

  constructor(store: Store, idleDays: number) {
    this.#store = store;
    this.#idleMs = idleDays * DAY_MS;
  }

  /** Create (or replace) the account `name`; returns the token, which is not stored anywhere. */
  async create(name: string, role: Role, now = new Date()): Promise<string> {
    if (!isTokenName(name))
      throw new Error(`token name ${JSON.stringify(name)} must be 1–64 of a-z 0-9 . _ -`);
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const hash = hashOf(token);
    await this.#store.env.transaction(() => {
      const previous = this.#store.tokens.get(name);
      if (previous !== undefined) this.#store.tokenHashes.remove(previous.hash);
      const record: TokenRecord = {
        name,
        role,
        hash,
        createdAt: now.toISOString(),
        lastUsedAt: null,
        revokedAt: null,
        blockedAt: null,
      };
      this.#store.tokens.put(name, record);
      this.#store.tokenHashes.put(hash, name);
    });
    return token;
  }

  async revoke(name: string, now = new Date()): Promise<boolean> {
    let found = false;
    await this.#store.env.transaction(() => {
      const record = this.#store.tokens.get(name);
      if (record === undefined) return;
      found = true;
      this.#store.tokens.put(name, { ...record, revokedAt: record.revokedAt ?? now.toISOString() });
    });
    return found;
  }

  list(): TokenRecord[] {
    return [...this.#store.tokens.getRange()].map(({ value }) => value);
  }

  /** Check an `Authorization` header value. */
  authenticate(header: string | undefined, now = new Date()): Authentication {
    if (header === undefined || !header.startsWith('Bearer ')) return { ok: false, problem: 'missing' };
    const token = header.slice('Bearer '.length).trim();
    if (!token.startsWith(TOKEN_PREFIX)) return { ok: false, problem: 'unknown' };
    const hash = hashOf(token);
    // Another process (the CLI) may have just revoked it: read the latest committed state.
    this.#store.env.resetReadTxn();
    const name = this.#store.tokenHashes.get(hash);
    const record = name === undefined ? undefined : this.#store.tokens.get(name);
    if (record === undefined || !timingSafeEqual(Buffer.from(record.hash, 'hex'), Buffer.from(hash, 'hex'))) {
      return { ok: false, problem: 'unknown' };
    }
    if (record.revokedAt !== null) return { ok: false, problem: 'revoked' };
    if (record.blockedAt !== null) return { ok: false, problem: 'expired' };
    const lastActivity = Date.parse(record.lastUsedAt ?? record.createdAt);
    const nowMs = now.getTime();
    if (nowMs - lastActivity > this.#idleMs) {
      void this.#store.tokens.put(record.name, { ...record, blockedAt: now.toISOString() });
      return { ok: false, problem: 'expired' };
    }
    if (record.lastUsedAt === null || nowMs - Date.parse(record.lastUsedAt) > LAST_USED_RESOLUTION_MS) {
      void this.#store.tokens.put(record.name, { ...record, lastUsedAt: now.toISOString() });
    }
    return { ok: true, name: record.name, role: record.role as Role };
  }
}
