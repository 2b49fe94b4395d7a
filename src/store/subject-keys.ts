/**
 * Subject keys (issue 22, point 3): what seals an owner's IIN/BIN and phone in the LMDB store, one
 * key per owner and device (the scope), kept in the slot file (src/store/subject-slots.ts) and
 * destroyed by a purge — an IIN purge destroys every key of that owner, an IMEI purge every key of
 * that device — after which the sealed bytes, in live pages or free ones, say nothing.
 *
 * The index is an LMDB database, written in the transaction that installs or destroys a key:
 *
 *   k/<key id>                      → [slot, created at, owner, body]
 *   s/<body>/<owner or ->/<key id>  → 1   a scope's keys (a new seal reuses one)
 *   o/<owner>/<body>/<key id>       → 1   an owner's keys (an IIN purge)
 *   f/<slot>                        → 1   slots destroyed, free for the next key
 *   next                            → slots ever used
 *   erasures                        → keys destroyed so far (the sweep looks for what they sealed)
 *
 * A key id is when the key was made (ms, 6 bytes big-endian) and 10 random bytes: a transaction's
 * new `k/` entries go at the end of the index, a few pages for a whole batch, not one page each
 * anywhere in it (bench/batch: 10–15 % less CPU per request; docs/performance.md).
 *
 * Owners appear only as keyed pseudonyms (src/store/pseudonyms.ts), never as an IIN. A key is
 * made and installed by whoever stores a record of a scope that has none (src/store/sealer.ts),
 * in that write transaction, and never leaves this store: each instance seals with its own keys.
 * A key is not installed when a purge known here, ordered after the record it would seal, covers
 * the owner or the device: what would have been sealed is stored erased instead.
 */
import { randomFillSync } from 'node:crypto';
import type { Database } from 'lmdb';
import { ownerMarkedAt, purgedAt } from './purge-marks.js';
import type { SlotFile } from './subject-slots.js';

/** A key, its scope (owner pseudonym or '' for none, and the device's body) and where it is. */
export interface SubjectKey {
  readonly keyId: Buffer;
  readonly key: Buffer;
  readonly owner: string;
  readonly body: string;
  readonly createdAt: number;
  /** Where this thread found it, or -1 when it is not installed yet. */
  readonly slot: number;
}

type KeyRecord = [slot: number, createdAt: number, owner: string, body: string];

const NO_OWNER = '-';
const NEXT = 'next';
const ERASURES = 'erasures';

export type IndexDb = Database<KeyRecord | number, string>;

const scopePrefix = (body: string, owner: string) => `s/${body}/${owner === '' ? NO_OWNER : owner}/`;
const freeKey = (slot: number) => `f/${String(slot).padStart(10, '0')}`;

export class SubjectKeys {
  readonly #db: IndexDb;
  readonly #meta: Database<number, string>;
  readonly #slots: SlotFile;
  readonly #random = Buffer.alloc(48 * 64);
  #randomAt = this.#random.length;

  constructor(db: IndexDb, meta: Database<number, string>, slots: SlotFile) {
    this.#db = db;
    this.#meta = meta;
    this.#slots = slots;
  }

  /** The key `keyId` names, looked for at `slotHint` first; undefined when it was destroyed. */
  key(keyId: Buffer, slotHint: number): Buffer | undefined {
    const hinted = slotHint >= 0 ? this.#slots.read(slotHint) : undefined;
    if (hinted?.keyId.equals(keyId)) return hinted.key;
    const record = this.#db.get(`k/${keyId.toString('hex')}`);
    if (!Array.isArray(record)) return undefined;
    const found = this.#slots.read(record[0]);
    return found?.keyId.equals(keyId) ? found.key : undefined;
  }

  /** An installed key of the scope, to seal more of it under; undefined when it has none. */
  scopeKey(body: string, owner: string): SubjectKey | undefined {
    const prefix = scopePrefix(body, owner);
    for (const indexKey of this.#db.getKeys({ start: prefix, end: `${prefix}~` })) {
      const keyId = Buffer.from(indexKey.slice(prefix.length), 'hex');
      const record = this.#db.get(`k/${indexKey.slice(prefix.length)}`);
      if (!Array.isArray(record)) continue;
      const found = this.#slots.read(record[0]);
      if (found?.keyId.equals(keyId)) return { ...found, owner, body, slot: record[0] };
    }
    return undefined;
  }

  /** A new key for a scope, not installed yet (`install` it in the transaction that stores what it sealed). */
  newKey(body: string, owner: string, now: number): SubjectKey {
    if (this.#randomAt === this.#random.length) {
      randomFillSync(this.#random);
      this.#randomAt = 0;
    }
    const bytes = this.#random.subarray(this.#randomAt, this.#randomAt + 48);
    this.#randomAt += 48;
    // The id: when it was made, then random (the header says why). LMDB copies every page a
    // transaction writes and writes it again at the commit: ids in the order they are made keep
    // a batch's `k/` entries on a few pages.
    const keyId = Buffer.allocUnsafe(16);
    keyId.writeUIntBE(Date.now(), 0, 6);
    keyId.set(bytes.subarray(6, 16), 6);
    return {
      keyId,
      key: Buffer.from(bytes.subarray(16)),
      owner,
      body,
      createdAt: now,
      slot: -1,
    };
  }

  /**
   * Installs a key: a slot, its bytes, its index entries. Call inside a write transaction, and
   * `flush` before it ends. Nothing when the key is installed already, or when a purge since it
   * was made destroyed its owner's or device's data (what it sealed stays unreadable). Returns
   * the slot it was installed in, or undefined.
   */
  install(
    key: Pick<SubjectKey, 'keyId' | 'key' | 'owner' | 'body' | 'createdAt'>,
    fresh = false,
  ): number | undefined {
    const id = key.keyId.toString('hex');
    // `fresh`: just made by `newKey` (16 random bytes): no need to look for it.
    if (!fresh && this.#db.get(`k/${id}`) !== undefined) return undefined;
    if (this.purged(key.owner, key.body, key.createdAt)) return undefined;
    const slot = this.#allocate();
    this.#slots.write(slot, key);
    void this.#db.put(`k/${id}`, [slot, key.createdAt, key.owner, key.body]);
    void this.#db.put(`${scopePrefix(key.body, key.owner)}${id}`, 1);
    if (key.owner !== '') void this.#db.put(`o/${key.owner}/${key.body}/${id}`, 1);
    return slot;
  }

  /** Whether a purge ordered at or after `at` names the owner (pseudonym) or the device. */
  purged(owner: string, body: string, at: number): boolean {
    const device = purgedAt(this.#meta, 'imei', body);
    if (device !== undefined && device >= at) return true;
    if (owner === '') return false;
    const ordered = ownerMarkedAt(this.#meta, owner);
    return ordered !== undefined && ordered >= at;
  }

  #allocate(): number {
    for (const free of this.#db.getKeys({ start: 'f/', end: 'f0', limit: 1 })) {
      void this.#db.remove(free);
      return Number(free.slice(2));
    }
    const next = this.#db.get(NEXT);
    const slot = typeof next === 'number' ? next : 0;
    void this.#db.put(NEXT, slot + 1);
    return slot;
  }

  /**
   * Destroys the keys of owners (their pseudonyms) or of a device made at or before `before`:
   * slots zeroed, index entries removed, slots freed. Call inside a write transaction, and `flush`
   * before it ends. Returns how many.
   */
  destroy(scope: { readonly owners: readonly string[] } | { readonly body: string }, before: number): number {
    const prefixes = 'body' in scope ? [`s/${scope.body}/`] : scope.owners.map((owner) => `o/${owner}/`);
    const ids = new Set<string>();
    for (const prefix of prefixes) {
      for (const indexKey of this.#db.getKeys({ start: prefix, end: `${prefix}~` }))
        ids.add(indexKey.slice(indexKey.lastIndexOf('/') + 1));
    }
    let destroyed = 0;
    for (const id of ids) {
      const record = this.#db.get(`k/${id}`);
      if (!Array.isArray(record) || record[1] > before) continue;
      const [slot, , owner, body] = record;
      this.#slots.zero(slot);
      void this.#db.remove(`k/${id}`);
      void this.#db.remove(`${scopePrefix(body, owner)}${id}`);
      if (owner !== '') void this.#db.remove(`o/${owner}/${body}/${id}`);
      void this.#db.put(freeKey(slot), 1);
      destroyed++;
    }
    if (destroyed > 0) void this.#db.put(ERASURES, this.erasures + destroyed);
    return destroyed;
  }

  /** Keys destroyed so far on this store. */
  get erasures(): number {
    const count = this.#db.get(ERASURES);
    return typeof count === 'number' ? count : 0;
  }

  /** Makes the slot writes of this transaction durable before it commits. */
  flush(): void {
    this.#slots.sync();
  }

  close(): void {
    this.#slots.close();
  }
}
