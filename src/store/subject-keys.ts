/**
 * Subject keys (issue 22, point 3): what seals an owner's IIN/BIN and phone in the LMDB store, one
 * key per owner and device (the scope), kept in the slot file (src/store/subject-slots.ts) and
 * destroyed by a purge — an IIN purge destroys every key of that owner, an IMEI purge every key of
 * that device — after which the sealed bytes, in live pages or free ones, say nothing.
 *
 * The index is an LMDB database, written in the transaction that installs or destroys a key
 * (schema 4; src/store/migrate-schema4.ts upgrades the index of schemas 2 and 3):
 *
 *   s/<body>/<owner or ->/<key id>  → [slot, created at]   a scope's keys (a new seal reuses one)
 *   o/<owner>/<body>/<key id>       → [slot, created at]   an owner's keys (an IIN purge)
 *   f/<slot>                        → 1                    slots destroyed, free for the next key
 *   slots                           → [slots ever used, slots free]
 *   erasures                        → keys destroyed so far (the sweep looks for what they sealed)
 *
 * A sealed blob names its key's id and slot (src/store/personal-seal.ts), and a key never leaves
 * its slot until it is destroyed: a blob's key is read from its slot and no index is needed to
 * find it. So a new key costs three writes (its two entries — one for a key with no owner — and
 * the slot count) and no search for a free slot while there is none.
 *
 * A key id is when the key was made (ms, 6 bytes big-endian) and 10 random bytes.
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

/** The value of a key's index entries: where it is and when it was made. */
type KeyEntry = [slot: number, createdAt: number];
/** The slot count: slots ever used (the next new one) and how many of them are free (`f/`). */
type SlotCount = [used: number, free: number];

const NO_OWNER = '-';
/** The index's slot count entry (SlotCount). */
export const SLOTS = 'slots';
/**
 * The range of the index's free slot entries (`f/<slot>`): a new object each time, because lmdb-js
 * writes into the options it is given (`getKeysCount` leaves its mark on them).
 */
export const freeSlots = () => ({ start: 'f/', end: 'f0' });
const ERASURES = 'erasures';

export type IndexDb = Database<KeyEntry | SlotCount | number, string>;

const scopePrefix = (body: string, owner: string) => `s/${body}/${owner === '' ? NO_OWNER : owner}/`;
/** A key's entry among its scope's (owner '' for none), and among its owner's. */
export const scopeEntry = (body: string, owner: string, id: string) => `${scopePrefix(body, owner)}${id}`;
export const ownerEntry = (owner: string, body: string, id: string) => `o/${owner}/${body}/${id}`;
const freeKey = (slot: number) => `f/${String(slot).padStart(10, '0')}`;
/** The slot a free slot entry names. */
const slotOfFree = (key: string) => Number(key.slice(2));

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

  /**
   * The key `keyId` names, in `slot` (where its blob says it is); undefined when it was destroyed
   * (its slot is zeros, or holds a later key) or was never installed (slot -1).
   */
  key(keyId: Buffer, slot: number): Buffer | undefined {
    const found = slot >= 0 ? this.#slots.read(slot) : undefined;
    return found?.keyId.equals(keyId) ? found.key : undefined;
  }

  /** An installed key of the scope, to seal more of it under; undefined when it has none. */
  scopeKey(body: string, owner: string): SubjectKey | undefined {
    const prefix = scopePrefix(body, owner);
    for (const { key: indexKey, value } of this.#db.getRange({ start: prefix, end: `${prefix}~` })) {
      if (!Array.isArray(value)) continue;
      const keyId = Buffer.from(indexKey.slice(prefix.length), 'hex');
      const found = this.#slots.read(value[0]);
      if (found?.keyId.equals(keyId)) return { ...found, owner, body, slot: value[0] };
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
    // The id: when it was made, then random. Up to schema 3 ids were index keys (`k/<id>`), and
    // ids in the order they are made kept a batch's new entries on a few pages of the index (925eda5);
    // since schema 4 an id ends its entries' keys only, and the format stays.
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
    const scope = scopeEntry(key.body, key.owner, id);
    // `fresh`: just made by `newKey` (16 random bytes): no need to look for it.
    if (!fresh && this.#db.get(scope) !== undefined) return undefined;
    if (this.purged(key.owner, key.body, key.createdAt)) return undefined;
    const slot = this.#allocate();
    this.#slots.write(slot, key);
    const entry: KeyEntry = [slot, key.createdAt];
    void this.#db.put(scope, entry);
    if (key.owner !== '') void this.#db.put(ownerEntry(key.owner, key.body, id), entry);
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
    const [used, free] = this.#slotCount();
    if (free > 0) {
      for (const freed of this.#db.getKeys({ ...freeSlots(), limit: 1 })) {
        void this.#db.remove(freed);
        void this.#db.put(SLOTS, [used, free - 1] satisfies SlotCount);
        return slotOfFree(freed);
      }
    }
    // None free (a count that said otherwise is corrected here, not searched again next time).
    void this.#db.put(SLOTS, [used + 1, 0] satisfies SlotCount);
    return used;
  }

  #slotCount(): SlotCount {
    const count = this.#db.get(SLOTS);
    return Array.isArray(count) ? [count[0], count[1]] : [0, 0];
  }

  /**
   * Destroys the keys of owners (their pseudonyms) or of a device made at or before `before`:
   * slots zeroed, index entries removed, slots freed. Call inside a write transaction, and `flush`
   * before it ends. Returns how many.
   */
  destroy(scope: { readonly owners: readonly string[] } | { readonly body: string }, before: number): number {
    // Each key once, named by its scope entry (an owner's keys are found by their `o/` entries).
    const doomed = new Map<string, { owner: string; body: string; slot: number }>();
    const consider = (id: string, owner: string, body: string, value: unknown) => {
      if (!Array.isArray(value) || value[1] > before || doomed.has(id)) return;
      doomed.set(id, { owner, body, slot: value[0] });
    };
    if ('body' in scope) {
      const prefix = `s/${scope.body}/`;
      for (const { key, value } of this.#db.getRange({ start: prefix, end: `${prefix}~` })) {
        const [owner = '', id = ''] = key.slice(prefix.length).split('/');
        consider(id, owner === NO_OWNER ? '' : owner, scope.body, value);
      }
    } else {
      for (const owner of scope.owners) {
        const prefix = `o/${owner}/`;
        for (const { key, value } of this.#db.getRange({ start: prefix, end: `${prefix}~` })) {
          const [body = '', id = ''] = key.slice(prefix.length).split('/');
          consider(id, owner, body, value);
        }
      }
    }
    if (doomed.size === 0) return 0;
    for (const [id, { owner, body, slot }] of doomed) {
      this.#slots.zero(slot);
      void this.#db.remove(scopeEntry(body, owner, id));
      if (owner !== '') void this.#db.remove(ownerEntry(owner, body, id));
      void this.#db.put(freeKey(slot), 1);
    }
    const [used, free] = this.#slotCount();
    void this.#db.put(SLOTS, [used, free + doomed.size] satisfies SlotCount);
    void this.#db.put(ERASURES, this.erasures + doomed.size);
    return doomed.size;
  }

  /**
   * Zeroes every slot the index does not give a key: past the slots ever used, or listed free. A
   * key is there only when a transaction wrote its slot and never committed, or committed and was
   * lost with the commits a machine crash takes back (lmdb-js syncs a commit after it is visible:
   * docs/simulation.md, "Machine crashes"; the key file is synced before each commit, so it keeps
   * them). The store names nothing that key sealed, but the lost transaction's pages may still
   * hold it: zeroed, it opens nothing. Call inside a write transaction — its lock keeps every
   * other thread and process from installing a key meanwhile — and `flush` before it ends.
   * Returns how many slots held a key's bytes.
   */
  destroyStray(): number {
    const count = this.#db.get(SLOTS);
    // No count: a store with no key yet, or one whose index this build has not written; nothing
    // then tells a stray slot from a live one.
    if (!Array.isArray(count)) return 0;
    const stray: number[] = [];
    for (let slot = count[0]; slot < this.#slots.length; slot++) stray.push(slot);
    if (count[1] > 0) for (const free of this.#db.getKeys(freeSlots())) stray.push(slotOfFree(free));
    let destroyed = 0;
    for (const slot of stray) {
      if (this.#slots.isZero(slot)) continue;
      this.#slots.zero(slot);
      destroyed++;
    }
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
