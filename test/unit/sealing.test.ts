/**
 * Sealing (issue 22, point 3): owners' pseudonyms, the topic seal, and records whose personal
 * fields the store keeps only sealed under a subject key — read back whole, never in clear in the
 * store's file, and `erased` once a purge destroyed the key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPseudonym, purgeAuditOf, purgeOfAudit, purgeTargetOf } from '../../src/domain/retention.js';
import type { PendingEntry, RegistryEntry } from '../../src/domain/types.js';
import { recordPurge } from '../../src/retention/purge-orders.js';
import { parseClusterKeys } from '../../src/security/cluster-key.js';
import { subjectSecretsOfKeys } from '../../src/security/subject-secrets.js';
import { keyIdOf, openPersonal, sealPersonal } from '../../src/store/personal-seal.js';
import { Pseudonyms } from '../../src/store/pseudonyms.js';
import { SealedWrites } from '../../src/store/sealed-writes.js';
import { openStore } from '../../src/store/store.js';
import { isSealed, SealError, TopicSeal } from '../../src/store/topic-seal.js';
import { TEST_KEY, TEST_SECRETS } from '../support/cluster-key.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const SUBJECT = '900215400559';
const PHONE = '+77015550123';
const OTHER = '850712300770';
const NEW_KEY = 'a-newer-cluster-key-abcdefghijklmnopqrstuvwxyz';
const rotated = subjectSecretsOfKeys(parseClusterKeys(`${NEW_KEY}\n${TEST_KEY}\n`, 'rotated.key'));

function registered(requestId: string, body: string, ownerId: string, msisdn: string): RegistryEntry {
  return {
    requestId,
    partition: 0,
    imei: `${body}1`,
    ownerId,
    msisdn,
    evidence: 'kgd-release',
    operator: 'beeline',
    applicationId: 'KZ-1',
    procedure: '40',
    at: '2026-11-20T10:00:00.000Z',
  };
}

function waiting(requestId: string, ownerId: string, msisdn: string): PendingEntry {
  return {
    request: { requestId, imei: '352099005000118', operator: 'kcell', channel: 'import', ownerId, msisdn },
    partition: 1,
    source: '1/7',
    stage: 'awaiting_kgd',
    reason: 'awaiting_kgd',
    detail: 'waiting',
    since: '2026-11-20T10:00:00.000Z',
    deadline: '2026-11-21T04:00:00.000Z',
  };
}

/** Every file of a directory, concatenated: what a byte search reads. */
function allBytes(dataDir: string): Buffer {
  return Buffer.concat(readdirSync(dataDir).map((name) => readFileSync(join(dataDir, name))));
}

describe('owners by pseudonym', () => {
  const pseudonyms = new Pseudonyms(TEST_SECRETS.pseudonym);

  it('is keyed: the same IIN the same pseudonym; never the IIN; another key another one', () => {
    const p = pseudonyms.current(SUBJECT);
    expect(isPseudonym(p)).toBe(true);
    expect(p).toBe(new Pseudonyms(TEST_SECRETS.pseudonym).current(SUBJECT));
    expect(p).not.toContain(SUBJECT);
    expect(pseudonyms.current(OTHER)).not.toBe(p);
    const both = new Pseudonyms(rotated.pseudonym).all(SUBJECT);
    expect(both).toHaveLength(2);
    expect(both[1]).toBe(p);
    expect(both[0]).not.toBe(p);
  });

  it('a purge order names the owner by pseudonyms; one of an earlier build by IIN is read as them', () => {
    const all = (iin: string) => pseudonyms.all(iin);
    const parsed = purgeTargetOf('iin', SUBJECT, all);
    if (!parsed.ok) throw new Error(parsed.error);
    const { action, target } = purgeAuditOf(parsed.target);
    expect(target).not.toContain(SUBJECT);
    expect(purgeOfAudit({ action, target }, all)).toEqual({ kind: 'iin', owners: all(SUBJECT) });
    expect(purgeOfAudit({ action, target: SUBJECT }, all)).toEqual({ kind: 'iin', owners: all(SUBJECT) });
    expect(purgeOfAudit({ action, target: 'not-an-owner' }, all)).toBeUndefined();
  });
});

describe('the topic seal', () => {
  const seal = new TopicSeal(TEST_SECRETS.topic);
  const plain = Buffer.from(JSON.stringify({ ownerId: SUBJECT, msisdn: PHONE }));

  it('seals a value so that its bytes say nothing, and opens it for its topic only', () => {
    const sealed = seal.seal('repartition', plain);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed.includes(Buffer.from(SUBJECT))).toBe(false);
    expect(seal.open('repartition', sealed)).toEqual(plain);
    expect(() => seal.open('journal', sealed)).toThrow(SealError);
    const altered = Buffer.from(sealed);
    altered[10]! ^= 1;
    expect(() => seal.open('repartition', altered)).toThrow(SealError);
    // Values written before sealing (JSON, msgpack) are not sealed, and read as they are.
    expect(isSealed(plain)).toBe(false);
    expect(seal.openIfSealed('repartition', plain)).toBe(plain);
  });

  it('after a rotation, what the old key sealed still opens; a key no longer listed does not', () => {
    const sealed = seal.seal('journal', plain);
    expect(new TopicSeal(rotated.topic).open('journal', sealed)).toEqual(plain);
    const newer = new TopicSeal(rotated.topic).seal('journal', plain);
    expect(() => seal.open('journal', newer)).toThrow(/does not list/);
  });
});

describe('records sealed in the store', () => {
  it('are read back whole, are not in clear in any file, and read erased once the owner is purged', async () => {
    const dataDir = join(dir, 'sealed');
    const store = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      await store.env.transaction(() => {
        const writes = new SealedWrites(store);
        writes.registry('35209900176148', registered('s-1', '35209900176148', SUBJECT, PHONE));
        writes.registry('35209900176149', registered('o-1', '35209900176149', OTHER, '+77057770456'));
        writes.view('35209900500037', 7, registered('s-3', '35209900500037', SUBJECT, PHONE));
        writes.reviews('35209900500011', [waiting('s-2', SUBJECT, PHONE)]);
        writes.flush();
      });
      expect(store.registry.get('35209900176148')).toEqual(
        registered('s-1', '35209900176148', SUBJECT, PHONE),
      );
      expect(store.registryView.get('35209900500037')?.entry?.ownerId).toBe(SUBJECT);
      expect(store.reviews.get('35209900500011')).toEqual([waiting('s-2', SUBJECT, PHONE)]);
      await store.env.committed;
      expect(allBytes(dataDir).includes(Buffer.from(SUBJECT))).toBe(false);
      expect(allBytes(dataDir).includes(Buffer.from(PHONE))).toBe(false);

      await store.env.transaction(() => {
        recordPurge(store, { kind: 'iin', owners: store.pseudonyms.all(SUBJECT) }, Date.now());
      });
      expect(store.registry.get('35209900176148')).toMatchObject({
        ownerId: null,
        msisdn: null,
        erased: true,
      });
      expect(store.registryView.get('35209900500037')?.entry).toMatchObject({ erased: true, ownerId: null });
      expect(store.reviews.get('35209900500011')?.[0]).toMatchObject({ erased: true });
      expect(store.reviews.get('35209900500011')?.[0]?.request.ownerId).toBeUndefined();
      // The other owner's data is untouched.
      expect(store.registry.get('35209900176149')).toMatchObject({ ownerId: OTHER, msisdn: '+77057770456' });
    } finally {
      await store.close();
    }
  });

  it('a sealed blob opens only with its key, unaltered', async () => {
    const store = openStore({ dataDir: join(dir, 'blob'), secrets: TEST_SECRETS });
    try {
      const made = store.subjects.newKey('35209900176148', 'x', Date.now());
      let slot: number | undefined;
      await store.env.transaction(() => {
        slot = store.subjects.install(made);
        store.subjects.flush();
      });
      // A blob names its key's slot: the key is read from there.
      const key = { ...made, slot: slot ?? -1 };
      const blob = sealPersonal(key, { ownerId: SUBJECT, msisdn: null }, Buffer.alloc(12, 1));
      expect(keyIdOf(blob)).toEqual(key.keyId);
      expect(openPersonal(blob, store.subjects)).toEqual({ ownerId: SUBJECT, msisdn: null });
      const altered = Buffer.from(blob);
      altered[altered.length - 20]! ^= 1;
      expect(openPersonal(altered, store.subjects)).toBeUndefined();
      const otherKey = store.subjects.newKey('35209900176148', 'x', Date.now());
      expect(
        openPersonal(
          sealPersonal(otherKey, { ownerId: SUBJECT, msisdn: null }, Buffer.alloc(12)),
          store.subjects,
        ),
      ).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});
