/**
 * Schema 3 → 4 from the previous release's own store (test/fixtures/store-v3: made by the build
 * before schema 4; its subject key index with `k/` entries and a `next` count, one key destroyed
 * by a purge). The index is re-written where it lies: every key keeps its slot and still opens what
 * it sealed, a purge still finds an owner's and a device's keys, and a new key takes the free slot
 * first, then the next unused one.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateSubjectIndex } from '../../src/store/migrate-schema4.js';
import { openStore, SCHEMA_VERSION, type Store } from '../../src/store/store.js';
import { TEST_SECRETS } from '../support/cluster-key.js';
import { releasedStore } from '../support/released-stores.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const SUBJECT = '900215400559';
const OTHER = '850712300770';
const PHONE = '+77015550123';
const AFTER = Date.parse('2026-12-01T00:00:00.000Z');

/** A fresh copy of the schema 3 store. */
const v3Store = (name: string): string => releasedStore(3, join(dir, name));

/** The subject key index, entry by entry. */
function index(store: Store): Record<string, unknown> {
  const entries: Record<string, unknown> = {};
  for (const { key, value } of store.subjectIndex.getRange({})) entries[key] = value;
  return entries;
}

describe('a store of schema 3', () => {
  it('has its key index re-written on open: every key where it was, found by its scope and owner', async () => {
    const dataDir = v3Store('upgraded');
    const store = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      expect(store.schema.get('meta')).toMatchObject({ schemaVersion: SCHEMA_VERSION });
      expect(SCHEMA_VERSION).toBe(4);
      const entries = index(store);
      const owner = store.pseudonyms.current(SUBJECT);
      expect(Object.keys(entries).filter((k) => k.startsWith('k/') || k === 'next')).toEqual([]);
      // Four slots ever used, one of them (the purged owner's) free.
      expect(entries['slots']).toEqual([4, 1]);
      expect(entries['f/0000000001']).toBe(1);
      expect(entries['erasures']).toBe(1);
      const created = Date.parse('2026-11-20T10:00:00.000Z');
      const scoped = (prefix: string) =>
        Object.entries(entries)
          .filter(([k]) => k.startsWith(prefix))
          .map(([, v]) => v);
      expect(scoped(`s/35209900176148/${owner}/`)).toEqual([[0, created]]);
      expect(scoped(`s/35209900176149/${owner}/`)).toEqual([[2, created]]);
      expect(scoped('s/35209900500011/-/')).toEqual([[3, created]]);
      expect(scoped(`o/${store.pseudonyms.current(OTHER)}/`)).toEqual([]);
      expect(scoped(`o/${owner}/`)).toEqual([
        [0, created],
        [2, created],
      ]);
      expect(store.subjects.scopeKey('35209900176148', owner)?.slot).toBe(0);

      // What the keys sealed reads as it was; the purged owner's record stays unreadable.
      expect(store.registry.get('35209900176148')).toMatchObject({ ownerId: SUBJECT, msisdn: PHONE });
      expect(store.registry.get('35209900176149')).toMatchObject({ ownerId: SUBJECT, msisdn: PHONE });
      expect(store.registry.get('35209900500011')).toMatchObject({ ownerId: null, msisdn: PHONE });
      expect(store.registry.get('35209900500037')).toMatchObject({
        ownerId: null,
        msisdn: null,
        erased: true,
      });

      // A new key takes the freed slot, the next one the first never used.
      const slots: (number | undefined)[] = [];
      await store.env.transaction(() => {
        for (const body of ['35209900600001', '35209900600002'])
          slots.push(store.subjects.install(store.subjects.newKey(body, owner, AFTER)));
        store.subjects.flush();
      });
      expect(slots).toEqual([1, 4]);
      expect(index(store)['slots']).toEqual([5, 0]);

      // A purge finds the owner's keys (through their `o/` entries) and a device's (`s/`).
      let destroyed = 0;
      await store.env.transaction(() => {
        destroyed = store.subjects.destroy({ owners: store.pseudonyms.all(SUBJECT) }, AFTER - 1);
        destroyed += store.subjects.destroy({ body: '35209900500011' }, AFTER - 1);
        store.subjects.flush();
      });
      expect(destroyed).toBe(3);
      expect(store.registry.get('35209900176148')).toMatchObject({ ownerId: null, msisdn: null });
      expect(store.registry.get('35209900500011')).toMatchObject({ ownerId: null, msisdn: null });
      expect(store.subjects.erasures).toBe(4);
      expect(index(store)['slots']).toEqual([5, 3]);
      // The keys made after the purge's order are kept.
      expect(Object.keys(index(store)).filter((k) => k.startsWith(`o/${owner}/`))).toHaveLength(2);
    } finally {
      await store.close();
    }
    // Reopened: nothing to re-write again.
    const again = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      expect(index(again)['slots']).toEqual([5, 3]);
      expect(again.registry.get('35209900176149')).toMatchObject({ ownerId: null });
    } finally {
      await again.close();
    }
  });

  it('opened read-only, is read as it is and left at schema 3', async () => {
    const dataDir = v3Store('read-only');
    const store = openStore({ dataDir, readOnly: true });
    try {
      expect(store.schema.get('meta')).toMatchObject({ schemaVersion: 3 });
      expect(store.registry.get('35209900176148')).toMatchObject({ requestId: 's-1', ownerId: SUBJECT });
      expect(Object.keys(index(store)).some((k) => k.startsWith('k/'))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('is re-written in chunks; a slot count below the slots in use is raised; entries naming no key go', async () => {
    const store = openStore({ dataDir: join(dir, 'by-hand'), secrets: TEST_SECRETS });
    try {
      const db = store.subjectIndex;
      // Schema 3's layout, written by hand: 25 keys in slots 0–24, and a `next` of 20 (what an
      // older build rolled back to would leave), one orphan scope entry and one orphan owner entry.
      await store.env.transaction(() => {
        for (let slot = 0; slot < 25; slot++) {
          const id = slot.toString(16).padStart(32, '0');
          const owner = slot % 2 === 0 ? `p.${slot}` : '';
          const body = String(35209900600000 + slot);
          void db.put(`k/${id}`, [slot, AFTER, owner, body]);
          void db.put(`s/${body}/${owner === '' ? '-' : owner}/${id}`, 1);
          if (owner !== '') void db.put(`o/${owner}/${body}/${id}`, 1);
        }
        void db.put('next', 20);
        void db.put('s/35209900699999/-/ffffffffffffffffffffffffffffffff', 1);
        void db.put('o/p.x/35209900699999/ffffffffffffffffffffffffffffffff', 1);
      });
      let converted = 0;
      await store.env.transaction(() => {
        converted = migrateSubjectIndex(db, 10);
      });
      expect(converted).toBe(25);
      const entries = index(store);
      expect(Object.keys(entries).filter((k) => k.startsWith('k/') || k === 'next')).toEqual([]);
      expect(entries['slots']).toEqual([25, 0]);
      expect(entries[`s/35209900600003/-/${(3).toString(16).padStart(32, '0')}`]).toEqual([3, AFTER]);
      expect(entries[`o/p.4/35209900600004/${(4).toString(16).padStart(32, '0')}`]).toEqual([4, AFTER]);
      expect(Object.keys(entries).filter((k) => k.includes('35209900699999'))).toEqual([]);
      expect(Object.keys(entries).filter((k) => k.startsWith('s/'))).toHaveLength(25);
      expect(Object.keys(entries).filter((k) => k.startsWith('o/'))).toHaveLength(13);
      // The next key goes after every slot in use, never into one of them.
      let slot: number | undefined;
      await store.env.transaction(() => {
        slot = store.subjects.install(store.subjects.newKey('35209900600100', '', AFTER));
      });
      expect(slot).toBe(25);
    } finally {
      await store.close();
    }
  });
});
