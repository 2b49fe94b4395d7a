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

type OldKeyRecord = [slot: number, createdAt: number, owner: string, body: string];

const NO_OWNER = '-';

/** Call inside a write transaction. Returns how many keys were re-indexed. */
export function migrateSubjectIndex(index: Database<unknown, string>): number {
  let keys = 0;
  // Read first, then written: the range is not walked while it changes.
  for (const { key, value } of [...index.getRange({ start: 'k/', end: 'k0' })]) {
    void index.remove(key);
    if (!Array.isArray(value) || value.length < 4) continue;
    const [slot, createdAt, owner, body] = value as OldKeyRecord;
    const id = key.slice(2);
    const entry = [slot, createdAt];
    void index.put(`s/${body}/${owner === '' ? NO_OWNER : owner}/${id}`, entry);
    if (owner !== '') void index.put(`o/${owner}/${body}/${id}`, entry);
    keys++;
  }
  const next = index.get('next');
  if (typeof next === 'number' || index.get('slots') === undefined) {
    const free = [...index.getKeys({ start: 'f/', end: 'f0' })].length;
    void index.put('slots', [typeof next === 'number' ? next : 0, free]);
    void index.remove('next');
  }
  return keys;
}
