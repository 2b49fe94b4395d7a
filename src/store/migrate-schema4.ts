/**
 * Schemas 2 and 3 → 4 (issue 23): the subject key index without its `k/` entries. Up to schema 3
 * each key had three index entries — `k/<id>` → [slot, created at, owner, body], and `s/…/<id>`
 * and `o/…/<id>` → 1 pointing at it — and the slots ever used were counted in `next`. A sealed
 * blob names its key's slot, and a key stays in its slot until it is destroyed, so `k/` was read
 * only to find the slot and date of a key its `s/` or `o/` entry had already named: schema 4 keeps
 * those two in the `s/` and `o/` entries themselves, and the slot count with the number of free
 * slots in `slots` (src/store/subject-keys.ts). A new key then costs two index entries and the
 * count instead of three entries, the count and a search for a free slot.
 *
 * Records and slots are not touched. One transaction, with the schema record that says 4: a crash
 * leaves the store at its old schema, and the next open migrates it again. Running it on an index
 * already of schema 4 changes nothing.
 */
import type { Database } from 'lmdb';
import { freeSlots, ownerEntry, SLOTS, scopeEntry } from './subject-keys.js';

type OldKeyRecord = [slot: number, createdAt: number, owner: string, body: string];

/** Entries converted per read: the index is never held in memory whole. */
const CHUNK = 10_000;

/** Call inside a write transaction. Returns how many keys were re-indexed. */
export function migrateSubjectIndex(index: Database<unknown, string>, chunkSize = CHUNK): number {
  let keys = 0;
  let highest = -1;
  // A chunk read, then written; each chunk's `k/` entries are removed, so the next starts at `k/`
  // again. The range is never walked while it changes.
  for (;;) {
    const chunk = [...index.getRange({ start: 'k/', end: 'k0', limit: chunkSize })];
    if (chunk.length === 0) break;
    for (const { key, value } of chunk) {
      void index.remove(key);
      if (!Array.isArray(value) || value.length < 4) continue;
      const [slot, createdAt, owner, body] = value as OldKeyRecord;
      const id = key.slice(2);
      const entry = [slot, createdAt];
      void index.put(scopeEntry(body, owner, id), entry);
      if (owner !== '') void index.put(ownerEntry(owner, body, id), entry);
      highest = Math.max(highest, slot);
      keys++;
    }
  }
  dropOrphans(index);
  const next = index.get('next');
  const counted = index.get(SLOTS);
  if (typeof next === 'number' || counted === undefined) {
    // The most of every count: a store an older build wrote to after this one (a rollback) may
    // hold a `next` below the slots already in use, and a slot must never be handed out twice.
    const used = Math.max(
      typeof next === 'number' ? next : 0,
      Array.isArray(counted) ? Number(counted[0]) : 0,
      highest + 1,
    );
    const free = index.getKeysCount(freeSlots());
    void index.put(SLOTS, [used, free]);
    void index.remove('next');
  }
  return keys;
}

/**
 * Scope and owner entries that name no key (`1`, their `k/` entry missing: nothing but a damaged
 * store leaves them): they would keep an owner linked to a device after a purge, so they go.
 */
function dropOrphans(index: Database<unknown, string>): void {
  for (const range of [
    { start: 's/', end: 's0' },
    { start: 'o/', end: 'o0' },
  ]) {
    const orphans: string[] = [];
    for (const { key, value } of index.getRange(range)) if (!Array.isArray(value)) orphans.push(key);
    for (const key of orphans) void index.remove(key);
  }
}
