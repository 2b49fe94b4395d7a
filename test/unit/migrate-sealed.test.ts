/**
 * Schema 1 → 2 from the previous release's own store (test/fixtures/store-v1: made by the build
 * before schema 2, owners and phones in clear). Opened with the cluster key's secrets it is
 * migrated: every record reads back the same, its owner and phone now sealed; the owner an old
 * purge named is gone (their registration deleted, their mark, audit entry and outcox command
 * pseudonymous, `audit.jsonl` too); the old bytes stay only in free pages, which
 * `imeiflow store copy` leaves behind. Without the cluster key the store is refused, and an older
 * build refuses a store being migrated.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isImeiflowError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { Pseudonyms } from '../../src/store/pseudonyms.js';
import { openStore, SCHEMA_VERSION, STORE_FILE } from '../../src/store/store.js';
import { TEST_KEY, TEST_SECRETS } from '../support/cluster-key.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const FIXTURE = join(PACKAGE_ROOT, 'test/fixtures/store-v1');
const SUBJECT = '900215400559';
const PHONE = '+77015550123';
const GONE = '880101300123';
const pseudonyms = new Pseudonyms(TEST_SECRETS.pseudonym);

/** A fresh copy of the schema 1 store. */
function v1Store(name: string): string {
  const dataDir = join(dir, name);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, STORE_FILE), gunzipSync(readFileSync(join(FIXTURE, 'imeiflow.lmdb.gz'))));
  copyFileSync(join(FIXTURE, 'audit.jsonl'), join(dataDir, 'audit.jsonl'));
  return dataDir;
}

describe('a store of schema 1', () => {
  it('is refused without the cluster key (nothing to seal with)', () => {
    const dataDir = v1Store('no-key');
    try {
      openStore({ dataDir });
      expect.unreachable();
    } catch (error) {
      expect(isImeiflowError(error, 'STORE_SCHEMA_MISMATCH')).toBe(true);
      expect((error as Error).message).toContain('migrates it on start');
    }
  });

  it('is migrated on open: the same records, sealed; an old purge carried through', async () => {
    const dataDir = v1Store('migrated');
    const before = readFileSync(join(dataDir, STORE_FILE));
    expect(before.includes(Buffer.from(SUBJECT))).toBe(true);
    const store = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      expect(store.schema.get('meta')).toMatchObject({ schemaVersion: SCHEMA_VERSION });
      expect(store.schema.get('meta')?.migrating).toBeUndefined();
      expect(store.registry.get('35209900176148')).toMatchObject({
        requestId: 's-1',
        ownerId: SUBJECT,
        msisdn: PHONE,
        evidence: 'kgd-release',
      });
      expect(store.registry.get('35209900176149')).toMatchObject({ ownerId: '850712300770' });
      // The owner purged before the upgrade: the registration the old sweep had not reached yet.
      expect(store.registry.get('35209900500029')).toBeUndefined();
      expect(store.registryView.get('35209900500037')?.entry).toMatchObject({
        ownerId: SUBJECT,
        msisdn: PHONE,
      });
      expect(store.pending.get('35209900500011')?.[0]?.request).toMatchObject({
        requestId: 's-2',
        ownerId: SUBJECT,
        msisdn: PHONE,
        applicationId: 'KZ-9',
      });
      expect(store.reviews.get('35209900500011')?.[0]?.request.ownerId).toBe(SUBJECT);
      expect(store.pendingByApplication.getValues('KZ-9').asArray).toEqual(['35209900500011']);
      expect(store.outcomes.get('s-1')?.decision).toMatchObject({ ownerId: SUBJECT, msisdn: PHONE });
      expect(store.outcomes.get('r-1')?.decision).toMatchObject({ outcome: 'rejected' });
      // Purge mark, audit entry and waiting command name the owner only by pseudonym.
      const owners = pseudonyms.all(GONE);
      expect(store.meta.get(`purge/iin/${owners[0]}`)).toBe(Date.parse('2026-11-21T00:00:00.000Z'));
      expect(store.meta.get(`purge/iin/${GONE}`)).toBeUndefined();
      const trail = [...store.audit.getRange()].map(({ value }) => value);
      expect(trail.find((e) => e.action === 'purge.iin')?.target).toBe(owners.join(' '));
      expect(store.commandOutbox.get('cmd-1')).toEqual({
        partition: 2,
        command: {
          type: 'purge',
          body: '35209900500029',
          issuedAt: '2026-11-21T00:00:00.000Z',
          erased: true,
        },
      });
      const archive = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8');
      expect(archive).not.toContain(GONE);
      expect(archive).toContain(owners[0]);
      expect(archive).toContain('a.nurlanova');
    } finally {
      await store.close();
    }
    // Opened again: nothing left to migrate, the same records.
    const again = openStore({ dataDir, secrets: TEST_SECRETS });
    try {
      expect(again.registry.get('35209900176148')?.ownerId).toBe(SUBJECT);
    } finally {
      await again.close();
    }
  });

  it('keeps the old bytes in free pages until `imeiflow store copy` copies the store without them', () => {
    const dataDir = v1Store('copied');
    const keyFile = join(dir, 'cluster.key');
    writeFileSync(keyFile, `${TEST_KEY}\n`);
    const migrated = openStore({ dataDir, secrets: TEST_SECRETS });
    void migrated.close();
    // Migrated, the records are sealed; the pages they were written in before are free, not wiped.
    expect(readFileSync(join(dataDir, STORE_FILE)).includes(Buffer.from(PHONE))).toBe(true);
    const target = join(dir, 'copy');
    const run = spawnSync(
      process.execPath,
      [join(PACKAGE_ROOT, 'bin/imeiflow.js'), 'store', 'copy', target, '--decrypted'],
      {
        encoding: 'utf8',
        env: { ...process.env, IMEIFLOW_DATA_DIR: dataDir, IMEIFLOW_CLUSTER_KEY_FILE: keyFile },
      },
    );
    expect(run.status, run.stderr).toBe(0);
    for (const file of [STORE_FILE, 'audit.jsonl', 'subject-keys']) {
      const bytes = readFileSync(join(target, file));
      expect(bytes.includes(Buffer.from(PHONE)), file).toBe(false);
      expect(bytes.includes(Buffer.from(SUBJECT)), file).toBe(false);
    }
    const copy = openStore({ dataDir: target, secrets: TEST_SECRETS });
    try {
      expect(copy.registry.get('35209900176148')).toMatchObject({ ownerId: SUBJECT, msisdn: PHONE });
      expect(copy.reviews.get('35209900500011')?.[0]?.request.msisdn).toBe(PHONE);
    } finally {
      void copy.close();
    }
  });
});
