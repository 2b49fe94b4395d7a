/**
 * Subject keys and their slot file (issue 22, point 3): a destroyed key's slot is zeros on disk,
 * its slot is used again by the next key, a slot written by a transaction that never committed is
 * free again, a key a purge covers is never installed, and a purge destroys only the keys made
 * before it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { putPurgeMark } from '../../src/store/purge-marks.js';
import { openStore, type Store } from '../../src/store/store.js';
import { SLOT_BYTES, SLOTS_FILE, SlotFile } from '../../src/store/subject-slots.js';
import { TEST_SECRETS } from '../support/cluster-key.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const T0 = Date.parse('2026-11-20T10:00:00.000Z');

function slotBytes(dataDir: string, slot: number): Buffer {
  return readFileSync(join(dataDir, SLOTS_FILE)).subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
}

async function installed(store: Store, body: string, owner: string, at = T0) {
  const key = store.subjects.newKey(body, owner, at);
  let slot: number | undefined;
  await store.env.transaction(() => {
    slot = store.subjects.install(key);
    store.subjects.flush();
  });
  return { key, slot: slot ?? -1 };
}

describe('the slot file', () => {
  it('reads back what it wrote; a zeroed or torn slot reads as no key', () => {
    const file = new SlotFile(join(dir, 'slots-a'), false);
    const keyId = Buffer.alloc(16, 7);
    const key = Buffer.alloc(32, 9);
    file.write(3, { keyId, key, createdAt: T0 });
    file.sync();
    expect(file.read(3)).toEqual({ keyId, key, createdAt: T0 });
    expect(file.read(2)).toBeUndefined();
    expect(file.length).toBe(4);
    file.zero(3);
    file.sync();
    expect(file.read(3)).toBeUndefined();
    expect(readFileSync(join(dir, 'slots-a')).subarray(3 * SLOT_BYTES)).toEqual(Buffer.alloc(SLOT_BYTES));
    file.write(1, { keyId, key, createdAt: T0 });
    file.sync();
    file.close();
    // A torn slot (one byte of its key changed): the checksum says it holds no key.
    const bytes = readFileSync(join(dir, 'slots-a'));
    bytes[SLOT_BYTES + 30]! ^= 1;
    const torn = join(dir, 'slots-b');
    writeFileSync(torn, bytes);
    expect(new SlotFile(torn, true).read(1)).toBeUndefined();
  });
});

describe('subject keys in a store', () => {
  it('a destroyed key is zeros on disk, opens nothing, and its slot is the next key’s', async () => {
    const dataDir = join(dir, 'destroy');
    const store = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      const owner = store.pseudonyms.current('900215400559');
      const a = await installed(store, '35209900176148', owner);
      const b = await installed(store, '35209900176149', owner);
      const other = await installed(store, '35209900176149', store.pseudonyms.current('850712300770'));
      expect([a.slot, b.slot, other.slot]).toEqual([0, 1, 2]);
      expect(store.subjects.key(a.key.keyId, a.slot)).toEqual(a.key.key);
      expect(slotBytes(dataDir, a.slot).includes(a.key.key)).toBe(true);

      let destroyed = 0;
      await store.env.transaction(() => {
        destroyed = store.subjects.destroy({ owners: [owner] }, T0);
        store.subjects.flush();
      });
      expect(destroyed).toBe(2);
      expect(store.subjects.erasures).toBe(2);
      for (const { key, slot } of [a, b]) {
        expect(store.subjects.key(key.keyId, slot)).toBeUndefined();
        expect(slotBytes(dataDir, slot)).toEqual(Buffer.alloc(SLOT_BYTES));
      }
      // The other owner's key is untouched.
      expect(store.subjects.key(other.key.keyId, other.slot)).toEqual(other.key.key);
      expect(store.subjects.scopeKey('35209900176148', owner)).toBeUndefined();
      // The freed slots are used again before the file grows.
      const c = await installed(store, '35209900176150', owner);
      expect(c.slot).toBe(0);
      expect(store.subjects.key(a.key.keyId, 0)).toBeUndefined();
      expect(store.subjects.key(c.key.keyId, 0)).toEqual(c.key.key);
    } finally {
      await store.close();
    }
  });

  it('a purge destroys only keys made before it; a device purge its device’s keys', async () => {
    const store = openStore({ dataDir: join(dir, 'times'), secrets: TEST_SECRETS });
    try {
      const owner = store.pseudonyms.current('900215400559');
      const before = await installed(store, '35209900176148', owner, T0);
      const after = await installed(store, '35209900176149', owner, T0 + 60_000);
      const device = await installed(store, '35209900500011', '', T0);
      await store.env.transaction(() => {
        store.subjects.destroy({ owners: store.pseudonyms.all('900215400559') }, T0 + 1000);
        store.subjects.destroy({ body: '35209900500011' }, T0 + 1000);
        store.subjects.flush();
      });
      expect(store.subjects.key(before.key.keyId, before.slot)).toBeUndefined();
      expect(store.subjects.key(after.key.keyId, after.slot)).toEqual(after.key.key);
      expect(store.subjects.key(device.key.keyId, device.slot)).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('a key whose owner or device a purge covers is not installed (a journal replayed after it)', async () => {
    const store = openStore({ dataDir: join(dir, 'marks'), secrets: TEST_SECRETS });
    try {
      const owners = store.pseudonyms.all('900215400559');
      await store.env.transaction(() => {
        putPurgeMark(store, { kind: 'iin', owners }, T0 + 1000);
        putPurgeMark(store, { kind: 'imei', body: '35209900500011', imei: '352099005000118' }, T0 + 1000);
      });
      const covered = await installed(store, '35209900176148', owners[0]!, T0);
      const device = await installed(store, '35209900500011', '', T0);
      const later = await installed(store, '35209900176148', owners[0]!, T0 + 5000);
      expect([covered.slot, device.slot]).toEqual([-1, -1]);
      expect(store.subjects.key(covered.key.keyId, 0)).toBeUndefined();
      expect(later.slot).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('keys installed in one transaction take slots in turn, and a slot freed in it is taken again', async () => {
    const store = openStore({ dataDir: join(dir, 'one-transaction'), secrets: TEST_SECRETS });
    try {
      const owner = store.pseudonyms.current('900215400559');
      const bodies = ['35209900176148', '35209900176149', '35209900176150'];
      const slots: (number | undefined)[] = [];
      let freed = 0;
      await store.env.transaction(() => {
        for (const body of bodies) slots.push(store.subjects.install(store.subjects.newKey(body, owner, T0)));
        freed = store.subjects.destroy({ body: bodies[1]! }, T0);
        slots.push(store.subjects.install(store.subjects.newKey('35209900176151', owner, T0)));
        slots.push(store.subjects.install(store.subjects.newKey('35209900176152', owner, T0)));
        store.subjects.flush();
      });
      expect(freed).toBe(1);
      expect(slots).toEqual([0, 1, 2, 1, 3]);
      // The next transaction finds no free slot either and goes on from the last.
      expect((await installed(store, '35209900176153', owner)).slot).toBe(4);
    } finally {
      await store.close();
    }
  });

  it('a scope keeps a key made after a purge of its older one, and seals under it', async () => {
    const store = openStore({ dataDir: join(dir, 'scope-keys'), secrets: TEST_SECRETS });
    try {
      const owner = store.pseudonyms.current('900215400559');
      const older = await installed(store, '35209900176148', owner, T0);
      const newer = await installed(store, '35209900176148', owner, T0 + 60_000);
      expect(store.subjects.scopeKey('35209900176148', owner)?.keyId).toEqual(older.key.keyId);
      await store.env.transaction(() => {
        expect(store.subjects.destroy({ body: '35209900176148' }, T0 + 1000)).toBe(1);
        store.subjects.flush();
      });
      expect(store.subjects.key(older.key.keyId, older.slot)).toBeUndefined();
      expect(store.subjects.scopeKey('35209900176148', owner)).toMatchObject({
        keyId: newer.key.keyId,
        slot: newer.slot,
      });
      // Installing the same key again does nothing.
      await store.env.transaction(() => {
        expect(store.subjects.install(newer.key)).toBeUndefined();
      });
      // The owner's purge finds the newer key through its owner entry.
      await store.env.transaction(() => {
        expect(store.subjects.destroy({ owners: [owner] }, T0 + 120_000)).toBe(1);
        store.subjects.flush();
      });
      expect(store.subjects.scopeKey('35209900176148', owner)).toBeUndefined();
      expect(store.subjects.erasures).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('key ids begin with when they were made', async () => {
    const store = openStore({ dataDir: join(dir, 'ids'), secrets: TEST_SECRETS });
    try {
      const made = Date.now();
      const ids = Array.from({ length: 50 }, (_, i) => store.subjects.newKey(`3520990017${i}`, '', T0).keyId);
      for (const id of ids) {
        expect(id.length).toBe(16);
        expect(id.readUIntBE(0, 6)).toBeGreaterThanOrEqual(made);
        expect(id.readUIntBE(0, 6)).toBeLessThanOrEqual(Date.now());
      }
      const hex = ids.map((id) => id.toString('hex').slice(0, 12));
      expect([...hex].sort()).toEqual(hex);
      expect(new Set(ids.map((id) => id.toString('hex'))).size).toBe(ids.length);
    } finally {
      await store.close();
    }
  });

  it('a slot written by a transaction that did not commit is free again; the next key overwrites it', async () => {
    const dataDir = join(dir, 'crash');
    const store = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      const owner = store.pseudonyms.current('900215400559');
      const lost = store.subjects.newKey('35209900176148', owner, T0);
      // The slot is written and synced, then the transaction fails before it commits (as a crash
      // between the two would leave it): the store does not know the key.
      await expect(
        store.env.childTransaction(() => {
          store.subjects.install(lost);
          store.subjects.flush();
          throw new Error('crash before the commit');
        }),
      ).rejects.toThrow('crash before the commit');
      expect(slotBytes(dataDir, 0).includes(lost.key)).toBe(true);
      expect(store.subjects.key(lost.keyId, -1)).toBeUndefined();
      expect(store.subjects.scopeKey('35209900176148', owner)).toBeUndefined();
      const next = await installed(store, '35209900176149', owner);
      expect(next.slot).toBe(0);
      expect(slotBytes(dataDir, 0).includes(lost.key)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('a key the index does not name is destroyed when the store opens: past the slots used, or in a free slot', async () => {
    const dataDir = join(dir, 'stray');
    let store = openStore({ dataDir, secrets: TEST_SECRETS });
    const owner = store.pseudonyms.current('900215400559');
    const a = await installed(store, '35209900176148', owner);
    const b = await installed(store, '35209900176149', owner);
    const kept = await installed(store, '35209900176150', store.pseudonyms.current('850712300770'));
    expect([a.slot, b.slot, kept.slot]).toEqual([0, 1, 2]);
    await store.env.transaction(() => {
      store.subjects.destroy({ owners: [owner] }, T0);
      store.subjects.flush();
    });
    await store.close();
    // What a machine crash leaves when LMDB comes back at its last flush and the key file, synced
    // before every commit, does not: keys of transactions lost, one in a slot past those used and
    // one in a slot the index lists free (taken again by a lost transaction).
    const slots = new SlotFile(join(dataDir, SLOTS_FILE), false);
    const lostNew = store.subjects.newKey('35209900176151', owner, T0);
    const lostReused = store.subjects.newKey('35209900176152', owner, T0);
    slots.write(3, lostNew);
    slots.write(a.slot, lostReused);
    slots.sync();
    slots.close();
    expect(slotBytes(dataDir, 3).includes(lostNew.key)).toBe(true);

    store = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      expect(slotBytes(dataDir, 3)).toEqual(Buffer.alloc(SLOT_BYTES));
      expect(slotBytes(dataDir, a.slot)).toEqual(Buffer.alloc(SLOT_BYTES));
      expect(slotBytes(dataDir, b.slot)).toEqual(Buffer.alloc(SLOT_BYTES));
      expect(store.subjects.key(kept.key.keyId, kept.slot)).toEqual(kept.key.key);
      // Opened again, with nothing stray left, it changes nothing.
      const before = readFileSync(join(dataDir, SLOTS_FILE));
      await store.close();
      store = openStore({ dataDir, secrets: TEST_SECRETS });
      expect(readFileSync(join(dataDir, SLOTS_FILE))).toEqual(before);
      expect(store.subjects.key(kept.key.keyId, kept.slot)).toEqual(kept.key.key);
    } finally {
      await store.close();
    }
  });
});
