/**
 * LMDB encryption at rest: a store written with a key cannot be read without it or with another
 * one (a clear error, where lmdb-js alone would crash the process), and can with it — in the
 * main thread, in the verify workers and through the command line; `imeiflow store copy`
 * rotates the key.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isImeiflowError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { VerifyPool } from '../../src/pool/verify-pool.js';
import { readEncryptionKey } from '../../src/store/encryption.js';
import { openStore, STORE_FILE } from '../../src/store/store.js';
import { readResult, requestInput, resultsOf, TEST_WORKER_SETTINGS, taskFor } from '../support/batches.js';
import { tacRecord } from '../support/fixtures.js';
import { putSealed, testStore } from '../support/sealed.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const KEY = 'Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4';
const OTHER_KEY = 'b3RoZXJvdGhlcm90aGVyb3RoZXJvdGhl';
const OWNER = '880101300123';
const APPLICATION = 'KZ-2025-000042';

function keyFile(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

function openError(options: Parameters<typeof openStore>[0]): Error {
  try {
    openStore(options);
  } catch (error) {
    expect(isImeiflowError(error, 'STORE_OPEN_FAILED')).toBe(true);
    return error as Error;
  }
  throw new Error('expected the store to be refused');
}

async function writeEncrypted(dataDir: string): Promise<void> {
  const store = testStore(dataDir, { encryptionKey: KEY });
  await putSealed(store, (put) =>
    put.registry('35209900176148', {
      requestId: 'r-1',
      partition: 0,
      imei: '352099001761481',
      ownerId: OWNER,
      msisdn: '+77011234567',
      evidence: 'kgd-release',
      operator: 'beeline',
      applicationId: APPLICATION,
      procedure: '40',
      at: '2026-11-20T10:00:00.000Z',
    }),
  );
  await store.close();
}

describe('an encrypted store', () => {
  it('is unreadable on disk, refused without its key or with another, and read with it', async () => {
    const dataDir = join(dir, 'encrypted');
    await writeEncrypted(dataDir);
    // The application is nowhere in the file (an unencrypted store holds it in plain bytes; the
    // owner and phone are sealed in any store, issue 22).
    expect(readFileSync(join(dataDir, STORE_FILE)).includes(Buffer.from(APPLICATION))).toBe(false);
    expect(openError({ dataDir }).message).toContain('is encrypted: set IMEIFLOW_STORE_ENCRYPTION_KEY_FILE');
    expect(openError({ dataDir, readOnly: true }).message).toContain('is encrypted');
    expect(openError({ dataDir, encryptionKey: OTHER_KEY }).message).toContain('does not open the store');
    const store = openStore({ dataDir, encryptionKey: KEY, readOnly: true });
    expect(store.registry.get('35209900176148')).toMatchObject({ ownerId: OWNER });
    await store.close();
  });

  it('an unencrypted store is refused when a key is configured (and holds its values in plain bytes)', async () => {
    const dataDir = join(dir, 'plain');
    const store = openStore({ dataDir });
    await store.tac.put('35209900', { brand: APPLICATION } as never);
    await store.close();
    expect(readFileSync(join(dataDir, STORE_FILE)).includes(Buffer.from(APPLICATION))).toBe(true);
    expect(openError({ dataDir, encryptionKey: KEY }).message).toContain('is not encrypted');
  });

  it('the verify workers open it with the key', async () => {
    const dataDir = join(dir, 'workers');
    const store = openStore({ dataDir, encryptionKey: KEY });
    await store.tac.put('35209900', tacRecord('35209900'));
    const pool = new VerifyPool({
      workers: 1,
      maxQueuedBatchesPerWorker: 1,
      settings: { ...TEST_WORKER_SETTINGS(dataDir), encryptionKey: KEY },
    });
    try {
      const request = { requestId: 'e-1', imei: '352099001761481', operator: 'beeline', channel: 'import' };
      const result = readResult(await pool.run(taskFor([requestInput(1, request)])));
      // The TAC was read from the encrypted store: known, so the request waits for KGD.
      expect(resultsOf(result)).toEqual(['e-1:pending:awaiting_kgd']);
    } finally {
      await pool.close();
      await store.close();
    }
  });
});

describe('the key file', () => {
  it('holds 32 printable ASCII characters; one trailing newline is allowed', () => {
    expect(readEncryptionKey(keyFile('ok.key', `${KEY}\n`))).toBe(KEY);
  });

  it('anything else stops start-up naming the file, never showing the content', () => {
    for (const [name, content] of [
      ['short.key', 'tooshort'],
      ['spaces.key', `${KEY.slice(0, 31)} `],
      ['cyrillic.key', `${KEY.slice(0, 31)}ж`],
    ] as const) {
      const file = keyFile(name, content);
      let message = '';
      try {
        readEncryptionKey(file);
      } catch (error) {
        expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
        message = (error as Error).message;
      }
      expect(message, name).toContain(file);
      expect(message, name).not.toContain(content);
    }
  });
});

describe('the command line with an encrypted store', () => {
  const dataDir = join(dir, 'cli');
  const oldKey = keyFile('old.key', `${KEY}\n`);
  const newKey = keyFile('new.key', `${OTHER_KEY}\n`);
  const samples = join(PACKAGE_ROOT, 'config/samples');
  const imeiflow = (env: Record<string, string>, ...args: string[]) => {
    const result = spawnSync(process.execPath, [join(PACKAGE_ROOT, 'bin/imeiflow.js'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, IMEIFLOW_DATA_DIR: dataDir, ...env },
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const withKey = (file: string, data = dataDir) => ({
    IMEIFLOW_STORE_ENCRYPTION_KEY_FILE: file,
    IMEIFLOW_DATA_DIR: data,
  });

  it('loads and checks with the key; without it, says so and exits 1 instead of crashing', () => {
    expect(imeiflow(withKey(oldKey), 'load-tac', join(samples, 'tac.csv')).code).toBe(0);
    expect(imeiflow(withKey(oldKey), 'load-declarations', join(samples, 'declarations.csv')).code).toBe(0);
    const checked = imeiflow(withKey(oldKey), 'check', '352099001761481');
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain('→ confirmed');
    const refused = imeiflow({}, 'check', '352099001761481');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is encrypted: set IMEIFLOW_STORE_ENCRYPTION_KEY_FILE');
    expect(imeiflow(withKey(newKey), 'load-tac', join(samples, 'tac.csv')).stderr).toContain(
      'does not open the store',
    );
  });

  it('store copy rotates the key: the copy opens with the new key only, and keeps every entry', () => {
    const rotated = join(dir, 'cli-rotated');
    expect(imeiflow(withKey(oldKey), 'store', 'copy', rotated).code).toBe(2);
    const copy = imeiflow(withKey(oldKey), 'store', 'copy', rotated, '--key-file', newKey);
    expect(copy.code).toBe(0);
    expect(copy.stdout).toMatch(/^declarations: [1-9]\d* entries$/m);
    expect(imeiflow(withKey(newKey, rotated), 'check', '352099001761481').stdout).toContain('→ confirmed');
    expect(imeiflow(withKey(oldKey, rotated), 'check', '352099001761481').stderr).toContain(
      'does not open the store',
    );
    // The copy carries the audit trail, with the copy itself recorded.
    expect(readFileSync(join(rotated, 'audit.jsonl'), 'utf8')).toContain('"action":"store.copy"');
    const decrypted = join(dir, 'cli-decrypted');
    expect(imeiflow(withKey(newKey, rotated), 'store', 'copy', decrypted, '--decrypted').code).toBe(0);
    expect(imeiflow({ IMEIFLOW_DATA_DIR: decrypted }, 'check', '352099001761481').stdout).toContain(
      '→ confirmed',
    );
  });
});
