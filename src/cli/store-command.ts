/**
 * `imeiflow store copy DIR (--key-file FILE | --decrypted)`: copy this instance's LMDB store into
 * a new data directory, encrypted with the key in FILE or not at all. LMDB cannot change the key
 * of a store in place, so this is how a key is rotated, an existing store encrypted for the first
 * time, or a store decrypted. Stop the instance first: the copy must see every write.
 *
 * The copy is logical — every entry of every database read and written through the store's own
 * encodings, the sealed records byte for byte — so it carries nothing of the old pages: not what a
 * purge deleted, nor what a store migrated to schema 2 held in clear before (issue 22, point 3).
 * The source's schema record goes along, and the subject keys' slot file.
 */
import { closeSync, copyFileSync, existsSync, fdatasyncSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Database } from 'lmdb';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { ImeiflowError } from '../errors.js';
import { AuditLog } from '../security/audit-log.js';
import { readEncryptionKey, storeOptionsOf } from '../store/encryption.js';
import { openStore, STORE_FILE, type Store, storedAsIs } from '../store/store.js';
import { SLOTS_FILE } from '../store/subject-slots.js';
import { CLI_ROLE, cliActor } from './cli-actor.js';
import { EXIT_USAGE, type SetExit } from './exit-codes.js';

export interface StoreCopyOptions {
  /** The target's key file; undefined: the copy is not encrypted. */
  readonly keyFile?: string;
}

const CHUNK = 10_000;

/** Every database of a store, by its property name. */
function databasesOf(store: Store): [string, Database<unknown, string>][] {
  return Object.entries(store).filter(
    (entry): entry is [string, Database<unknown, string>] =>
      entry[0] !== 'env' && typeof entry[1] === 'object' && entry[1] !== null && 'getRange' in entry[1],
  );
}

/**
 * The stores whose records hold people's data sealed (src/store/sealed-records.ts): copied byte for
 * byte, still sealed under the same subject keys (the slot file and its index go along).
 */
const SEALED = new Set(['registry', 'pending', 'outcomes', 'reviews', 'registryView']);

/** Copies a file and syncs the copy. */
function copyDurably(from: string, to: string): void {
  copyFileSync(from, to);
  const fd = openSync(to, 'r+');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function copyDatabase(
  name: string,
  from: Database<unknown, string>,
  to: Database<unknown, string>,
  target: Store,
) {
  let count = 0;
  let chunk: { key: string; value: unknown }[] = [];
  const flush = async () => {
    const entries = chunk;
    chunk = [];
    await target.env.transaction(() => {
      for (const { key, value } of entries) void to.put(key, value);
    });
  };
  const entries = SEALED.has(name)
    ? [...from.getKeys()].map((key) => ({ key, value: storedAsIs(Buffer.from(from.getBinary(key)!)) }))
    : from.getRange();
  for (const { key, value } of entries) {
    chunk.push({ key, value });
    count++;
    if (chunk.length >= CHUNK) await flush();
  }
  await flush();
  return count;
}

export async function copyStore(
  config: Config,
  targetDir: string,
  options: StoreCopyOptions,
): Promise<number> {
  const target = resolve(targetDir);
  if (target === resolve(config.dataDir)) {
    process.stderr.write('imeiflow store copy: the target must be another data directory\n');
    return 2;
  }
  if (existsSync(join(target, STORE_FILE))) {
    throw new ImeiflowError(
      'STORE_OPEN_FAILED',
      `${target} already holds a store; copy into an empty directory`,
    );
  }
  const targetKey = options.keyFile === undefined ? undefined : readEncryptionKey(options.keyFile);
  const source = openStore(storeOptionsOf(config));
  const audit = new AuditLog(source, config.dataDir);
  try {
    // Recorded first, so the copy carries the record of its own making.
    await audit.record({
      actor: cliActor(),
      role: CLI_ROLE,
      action: 'store.copy',
      basis: null,
      target: `${target} (${targetKey === undefined ? 'not encrypted' : 'encrypted with a new key'})`,
    });
  } finally {
    await audit.close();
  }
  try {
    // The subject keys first, on disk before the copied index that names their slots is written
    // (destroyed ones are zeros already): a copy cut short by a crash never names a slot it lacks.
    mkdirSync(target, { recursive: true });
    copyDurably(join(config.dataDir, SLOTS_FILE), join(target, SLOTS_FILE));
    const copy = openStore({
      dataDir: target,
      ...(targetKey === undefined ? {} : { encryptionKey: targetKey }),
    });
    try {
      const copied = new Map(databasesOf(copy));
      for (const [name, database] of databasesOf(source)) {
        const into = copied.get(name);
        if (into === undefined) throw new Error(`the copy has no database ${name}`);
        const count = await copyDatabase(name, database, into, copy);
        process.stdout.write(`${name}: ${count} entries\n`);
      }
    } finally {
      await copy.close();
    }
  } finally {
    await source.close();
  }
  const auditFile = join(config.dataDir, 'audit.jsonl');
  if (existsSync(auditFile)) copyDurably(auditFile, join(target, 'audit.jsonl'));
  process.stdout.write(
    `copied ${config.dataDir} to ${target}${targetKey === undefined ? ' (not encrypted)' : ' (encrypted)'}; ` +
      'point IMEIFLOW_DATA_DIR (and IMEIFLOW_STORE_ENCRYPTION_KEY_FILE) at it, then destroy the old directory\n',
  );
  return 0;
}

/** `imeiflow store copy DIR (--key-file FILE | --decrypted)`. */
export function registerStoreCommands(cli: Command, setExit: SetExit): void {
  const store = cli.command('store').description('manage the local LMDB store');
  store
    .command('copy <dir>')
    .description(
      'copy the store into a new data directory, encrypted with another key or decrypted (key rotation; stop the instance first)',
    )
    .option('--key-file <file>', 'encrypt the copy with the key in this file (32 printable ASCII characters)')
    .option('--decrypted', 'write the copy without encryption')
    .action(async (dir: string, opts: { keyFile?: string; decrypted?: boolean }) => {
      if ((opts.keyFile === undefined) === (opts.decrypted !== true)) {
        process.stderr.write('imeiflow store copy: give exactly one of --key-file FILE or --decrypted\n');
        setExit(EXIT_USAGE);
        return;
      }
      setExit(
        await copyStore(loadConfig(), dir, opts.keyFile === undefined ? {} : { keyFile: opts.keyFile }),
      );
    });
}
