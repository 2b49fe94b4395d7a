/**
 * Encryption at rest of the LMDB store: lmdb-js's `encryptionKey` (ChaCha8 over every page),
 * with the key read from a file.
 *
 * lmdb-js cannot tell a wrong key from none: opening an encrypted store without its key, or
 * with another one, crashes the process (a segmentation fault or a failed assertion, measured
 * with lmdb 3.5.6), and a Buffer key aborts it too. So the key is a 32-character string, and a
 * key check beside the store — an HMAC of a fixed text under the key, which says nothing about
 * the key — records whether the store is encrypted and with which key; `openStore` compares
 * before lmdb-js ever sees the file, and refuses with a clear error instead.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { ImeiflowError, messageOf } from '../errors.js';

/** lmdb-js wants exactly 32 bytes; printable ASCII keeps a string key byte for byte. */
const KEY_PATTERN = /^[\x21-\x7e]{32}$/;
const KEY_CHECK_TEXT = 'imeiflow store key check v1';

/** Read the store's encryption key from `file` (e.g. `openssl rand -base64 24 > key`). */
export function readEncryptionKey(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ImeiflowError(
      'CONFIG_INVALID',
      `store.encryptionKeyFile (IMEIFLOW_STORE_ENCRYPTION_KEY_FILE): ${file} cannot be read: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const key = text.replace(/\r?\n$/, '');
  if (!KEY_PATTERN.test(key)) {
    // The length only, never the content.
    throw new ImeiflowError(
      'CONFIG_INVALID',
      `store.encryptionKeyFile (IMEIFLOW_STORE_ENCRYPTION_KEY_FILE): ${file} must hold exactly 32 printable ASCII characters ` +
        `(it holds ${key.length} characters); make one with: openssl rand -base64 24`,
    );
  }
  return key;
}

interface StoreConfig {
  readonly dataDir: string;
  readonly store: { readonly encryptionKeyFile: string | null };
}

/** The encryption key of a configuration, or undefined when the store is not encrypted. */
export function encryptionKeyOf(config: StoreConfig): string | undefined {
  const file = config.store.encryptionKeyFile;
  return file === null ? undefined : readEncryptionKey(file);
}

/** `openStore` options for a configuration: its data directory and, if set, its key. */
export function storeOptionsOf(
  config: StoreConfig,
  readOnly = false,
): { dataDir: string; readOnly: boolean; encryptionKey?: string } {
  const encryptionKey = encryptionKeyOf(config);
  return { dataDir: config.dataDir, readOnly, ...(encryptionKey === undefined ? {} : { encryptionKey }) };
}

function keyCheckOf(key: string): string {
  return createHmac('sha256', key).update(KEY_CHECK_TEXT).digest('hex');
}

/** The key check file beside the store file. */
export function keyCheckPath(storePath: string): string {
  return `${storePath}.key-check`;
}

/**
 * Refuses to open the store at `storePath` with the wrong key, without one when it is
 * encrypted, or with one when it is not. A store about to be created gets its key check first
 * (or loses a stale one).
 */
export function checkEncryptionKey(storePath: string, key: string | undefined, creating: boolean): void {
  const checkFile = keyCheckPath(storePath);
  if (creating) {
    if (key === undefined) rmSync(checkFile, { force: true });
    else {
      writeFileSync(`${checkFile}.tmp`, `${keyCheckOf(key)}\n`, { mode: 0o600 });
      renameSync(`${checkFile}.tmp`, checkFile);
    }
    return;
  }
  const recorded = existsSync(checkFile) ? readFileSync(checkFile, 'utf8').trim() : undefined;
  if (recorded === undefined) {
    if (key !== undefined) {
      throw new ImeiflowError(
        'STORE_OPEN_FAILED',
        `the store at ${storePath} is not encrypted but an encryption key is configured; ` +
          'to encrypt it, copy it into a new data directory with `imeiflow store copy DIR --key-file FILE`',
      );
    }
    return;
  }
  if (key === undefined) {
    throw new ImeiflowError(
      'STORE_OPEN_FAILED',
      `the store at ${storePath} is encrypted: set IMEIFLOW_STORE_ENCRYPTION_KEY_FILE to the file of its key`,
    );
  }
  const expected = Buffer.from(recorded, 'utf8');
  const actual = Buffer.from(keyCheckOf(key), 'utf8');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new ImeiflowError(
      'STORE_OPEN_FAILED',
      `the configured encryption key does not open the store at ${storePath} (it was encrypted with another key)`,
    );
  }
}
