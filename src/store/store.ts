/**
 * The LMDB environment: one file under the data directory, one named database per store
 * (DESIGN.md §3). The main thread opens it read-write and is the only writer; workers open it
 * read-only. Values are msgpack (lmdb-js encodes with msgpackr).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { asBinary, type Database, open, type RootDatabase } from 'lmdb';
import type {
  ApplicationRecord,
  BlockEntry,
  DeclarationEntry,
  LocalProductionRecord,
  OutcomeRecord,
  RegistryEntry,
  TacRecord,
} from '../domain/types.js';
import { ImeiflowError, messageOf } from '../errors.js';
import type { SubjectSecrets } from './derived-keys.js';
import { checkEncryptionKey } from './encryption.js';
import { migrateSubjectIndex } from './migrate-schema4.js';
import { migrateSealed } from './migrate-sealed.js';
import { noPseudonyms, type OwnerPseudonyms, Pseudonyms } from './pseudonyms.js';
import type {
  AuditEntry,
  CertificateRecord,
  KgdExportRecord,
  OutboxEntry,
  PendingEntry,
  StoreMeta,
  TokenRecord,
} from './records.js';
import { type SealedKind, sealedEncoder } from './sealed-records.js';
import {
  SCHEMA_1_FINGERPRINT,
  SCHEMA_2_FINGERPRINT,
  SCHEMA_3_FINGERPRINT,
  STRUCTURES_FINGERPRINT,
  structuredEncoderOptions,
  structuredPackr,
} from './structures.js';
import { type IndexDb, SubjectKeys } from './subject-keys.js';
import { SLOTS_FILE, SlotFile } from './subject-slots.js';

/**
 * Bump when a stored value changes shape and teach `openStore` to migrate the older one. A store
 * written by a newer imeiflow is refused rather than misread. 2: personal fields sealed
 * (issue 22, point 3; src/store/migrate-sealed.ts migrates a store of version 1). 3: registrations
 * and confirmed outcomes name the operator whose request made them (issue 22, point 1); a store of
 * version 2 is upgraded in place, its records as they are (src/store/structures.ts). 4: the subject
 * key index without `k/` entries (issue 23; src/store/migrate-schema4.ts upgrades versions 2 and 3
 * in place).
 */
export const SCHEMA_VERSION = 4;

export const STORE_FILE = 'imeiflow.lmdb';

export interface StoreOptions {
  readonly dataDir: string;
  readonly readOnly?: boolean;
  /** 32 printable ASCII characters: LMDB's ChaCha8 encryption at rest (src/store/encryption.ts). */
  readonly encryptionKey?: string;
  /**
   * Derived from the cluster key (src/store/derived-keys.ts): what seals personal fields needs to
   * name their owners. Without it the store reads everything and seals nothing new.
   */
  readonly secrets?: SubjectSecrets;
}

export interface Store {
  readonly path: string;
  readonly readOnly: boolean;
  readonly env: RootDatabase;
  /** Small values: positions, counters, the TAC version. */
  readonly meta: Database<number, string>;
  readonly schema: Database<StoreMeta, string>;
  readonly tac: Database<TacRecord, string>;
  readonly blocklist: Database<BlockEntry, string>;
  readonly declarations: Database<DeclarationEntry[], string>;
  readonly applications: Database<ApplicationRecord, string>;
  /** applicationId → the IMEI bodies it lists (sorted duplicates): for revocations and counts. */
  readonly applicationImeis: Database<string, string>;
  /**
   * IMEI body → the applications KGD has refused or revoked for it (sorted duplicates): what a
   * partition's new owner checks its registry against, so a withdrawal whose notice was lost with
   * a crash or a rebalance is still carried out (src/pool/partition-batch.ts).
   */
  readonly withdrawals: Database<string, string>;
  readonly localProduction: Database<LocalProductionRecord, string>;
  readonly registry: Database<RegistryEntry, string>;
  readonly pending: Database<PendingEntry[], string>;
  /** applicationId → IMEI bodies with a waiting request naming that application (sorted duplicates). */
  readonly pendingByApplication: Database<string, string>;
  readonly outcomes: Database<OutcomeRecord, string>;
  /** Registry entries of partitions owned elsewhere (src/pipeline/registry-view.ts). */
  readonly registryView: Database<{ order: number; entry: RegistryEntry | null }, string>;
  /** Every partition's waiting requests (the review table), read from the pending changelog. */
  readonly reviews: Database<PendingEntry[], string>;
  readonly audit: Database<AuditEntry, string>;
  /** Commands written with the state change that caused them, sent to Kafka after it commits. */
  readonly commandOutbox: Database<OutboxEntry, string>;
  /** Token accounts by name, and token hash → name. */
  readonly tokens: Database<TokenRecord, string>;
  readonly tokenHashes: Database<string, string>;
  /** Client-certificate holders' account state by IIN (src/security/tokens.ts). */
  readonly certificates: Database<CertificateRecord, string>;
  /** KGD monthly exports loaded, by `kgd/<YYYY-MM>` (the `exports` topic's global table). */
  readonly exports: Database<KgdExportRecord, string>;
  /** The keys that seal owners' and phones' data, and what destroys them (src/store/subject-keys.ts). */
  readonly subjects: SubjectKeys;
  /** Where the subject keys are (their index; the keys are in the slot file): for tools that copy a store. */
  readonly subjectIndex: Database<unknown, string>;
  /**
   * Owners' keyed pseudonyms: under the cluster key's secrets, as the service, its workers and the
   * purge command open the store; else under the store's own key (`localPseudonyms`).
   */
  readonly pseudonyms: OwnerPseudonyms;
  close(): Promise<void>;
}

const META_KEY = 'meta';

/**
 * Runs `write` in a child transaction of the next write: all of it is committed or, if it throws,
 * none of it. lmdb-js commits what an asynchronous `transaction`'s callback wrote before it threw
 * (3.5.6, write.js; test/unit/partition-batch.test.ts was red on it). Async because inside an open
 * write transaction lmdb-js runs a child at once and returns its value (or throws), not a promise.
 */
export async function allOrNothing<T>(store: Pick<Store, 'env'>, write: () => T): Promise<T> {
  return await store.env.childTransaction(write);
}

/**
 * A value already encoded the way a msgpack database of this store encodes (a Packr with the
 * shared structures), to `put` without encoding it again. lmdb-js stores an `asBinary` value
 * as is; its typings do not say so.
 */
export function storedAsIs<V>(encoded: Uint8Array): V {
  return asBinary(encoded) as V;
}

export function openStore(options: StoreOptions): Store {
  const readOnly = options.readOnly ?? false;
  const path = join(options.dataDir, STORE_FILE);
  let env: RootDatabase;
  const exists = existsSync(path);
  if (!readOnly) mkdirSync(options.dataDir, { recursive: true });
  // Before lmdb-js sees the file: it crashes the process on a missing or wrong key.
  if (exists || !readOnly) checkEncryptionKey(path, options.encryptionKey, !exists);
  try {
    env = open({
      path,
      maxDbs: 24,
      readOnly,
      // Every reader thread holds one slot; the pool plus the HTTP side fit easily.
      maxReaders: 256,
      // lmdb-js's `overlappingSync` stays on (its default on Linux): a commit is visible before
      // its sync, and a machine crash loses the commits not yet synced, which nothing relies on
      // (docs/simulation.md, "Machine crashes").
      ...(options.encryptionKey === undefined ? {} : { encryptionKey: options.encryptionKey }),
    });
  } catch (error) {
    throw new ImeiflowError(
      'STORE_OPEN_FAILED',
      `cannot open the LMDB store at ${path}: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  const db = <V>(name: string): Database<V, string> => {
    // `encoder` options reach msgpackr; lmdb-js's typings do not list the key.
    const dbOptions = { name, encoding: 'msgpack' as const, encoder: structuredEncoderOptions() };
    return env.openDB<V, string>(dbOptions);
  };
  const slots = new SlotFile(join(options.dataDir, SLOTS_FILE), readOnly);
  const meta = db<number>('meta');
  const indexOptions = { name: 'subject-keys', encoding: 'msgpack' as const, encoder: { useRecords: false } };
  const subjectIndex = env.openDB<unknown, string>(indexOptions);
  const subjects = new SubjectKeys(subjectIndex as IndexDb, meta, slots);
  const pseudonyms = options.secrets === undefined ? undefined : new Pseudonyms(options.secrets.pseudonym);
  const local = pseudonyms === undefined ? localPseudonyms(subjectIndex, readOnly) : undefined;
  // Each store of people's records reads its personal fields back through the subject keys.
  const sealed = <V>(name: string, kind: SealedKind): Database<V, string> => {
    const dbOptions = { name, encoder: sealedEncoder(kind, structuredPackr(), subjects) };
    return env.openDB<V, string>(dbOptions);
  };
  const schema = checkSchema(env, path, readOnly, pseudonyms, subjects, subjectIndex);

  const withdrawals = env.openDB<string, string>({
    name: 'withdrawals',
    dupSort: true,
    encoding: 'ordered-binary',
  });
  if (!readOnly) indexWithdrawals(env, meta, db<DeclarationEntry[]>('declarations'), withdrawals);
  if (!readOnly) destroyStrayKeys(env, subjects);
  return {
    path,
    readOnly,
    env,
    meta,
    schema,
    tac: db('tac'),
    blocklist: db('blocklist'),
    declarations: db('declarations'),
    applications: db('applications'),
    applicationImeis: env.openDB<string, string>({
      name: 'application-imeis',
      dupSort: true,
      encoding: 'ordered-binary',
    }),
    withdrawals,
    localProduction: db('local-production'),
    registry: sealed('registry', 'registry'),
    pending: sealed('pending', 'pending'),
    pendingByApplication: env.openDB<string, string>({
      name: 'pending-by-application',
      dupSort: true,
      encoding: 'ordered-binary',
    }),
    outcomes: sealed('outcomes', 'outcome'),
    reviews: sealed('reviews', 'pending'),
    registryView: sealed('registry-view', 'view'),
    audit: db('audit'),
    commandOutbox: db('command-outbox'),
    tokens: db('tokens'),
    tokenHashes: db('token-hashes'),
    certificates: db('certificates'),
    exports: db('exports'),
    subjects,
    subjectIndex,
    pseudonyms:
      pseudonyms ??
      local ??
      noPseudonyms(`the store at ${path} was opened read-only without the cluster key`),
    close: async () => {
      await env.close();
      subjects.close();
    },
  };
}

const LOCAL_PSEUDONYM_KEY = 'local-pseudonym-key';

/** The schema record's mark of a migration this build runs (src/store/records.ts says why not `true`). */
const MIGRATING = 4;

/**
 * Pseudonyms for a store opened without the cluster key (the simulation, tests, a benchmark): under
 * a random key of the store's own, kept in it, so that its owners are still named only keyed. Such
 * a store is not the service's: the service, its workers and the purge command always open theirs
 * with the cluster key's secrets, and pseudonyms under one key never match those under the other.
 * Undefined for a read-only store that has no such key yet.
 */
function localPseudonyms(index: Database<unknown, string>, readOnly: boolean): Pseudonyms | undefined {
  let key = index.get(LOCAL_PSEUDONYM_KEY);
  if (!(key instanceof Uint8Array)) {
    if (readOnly) return undefined;
    key = randomBytes(32);
    index.putSync(LOCAL_PSEUDONYM_KEY, key);
  }
  return new Pseudonyms([{ id: '00000000', key: key as Uint8Array }]);
}

/**
 * The schema record: written on a new store; a store of schema 1 migrated (its personal fields
 * sealed: src/store/migrate-sealed.ts, which needs the cluster key); a store of schema 2 or 3
 * upgraded in place — its subject key index re-written (src/store/migrate-schema4.ts) with the new
 * version in one transaction; schemas 3 and 4 append record shapes and change none, so its records
 * read as they are, and opened read-only it is read as it is — any other refused.
 */
function checkSchema(
  env: RootDatabase,
  path: string,
  readOnly: boolean,
  pseudonyms: Pseudonyms | undefined,
  subjects: SubjectKeys,
  subjectIndex: Database<unknown, string>,
): Database<StoreMeta, string> {
  const schema = env.openDB<StoreMeta, string>({ name: 'schema', encoding: 'json' });
  const current = schema.get(META_KEY);
  const now: StoreMeta = {
    schemaVersion: SCHEMA_VERSION,
    structures: STRUCTURES_FINGERPRINT,
    createdAt: current?.createdAt ?? new Date().toISOString(),
  };
  if (current === undefined) {
    if (!readOnly) schema.putSync(META_KEY, now);
    return schema;
  }
  const older = current.schemaVersion === 1 && current.structures === SCHEMA_1_FINGERPRINT;
  const resumed = current.migrating === true || current.migrating === MIGRATING;
  if ((older || resumed) && !readOnly && pseudonyms !== undefined) {
    schema.putSync(META_KEY, { ...now, migrating: MIGRATING });
    // A migration an older imeiflow began may have left keys in its index layout.
    if (resumed) env.transactionSync(() => migrateSubjectIndex(subjectIndex));
    migrateSealed(env, pseudonyms, subjects, path);
    schema.putSync(META_KEY, now);
    return schema;
  }
  const upgradable =
    current.migrating === undefined &&
    ((current.schemaVersion === 2 && current.structures === SCHEMA_2_FINGERPRINT) ||
      (current.schemaVersion === 3 && current.structures === SCHEMA_3_FINGERPRINT));
  if (upgradable) {
    if (!readOnly)
      env.transactionSync(() => {
        migrateSubjectIndex(subjectIndex);
        void schema.put(META_KEY, now);
      });
    return schema;
  }
  if (
    current.schemaVersion === SCHEMA_VERSION &&
    current.structures === STRUCTURES_FINGERPRINT &&
    current.migrating === undefined
  )
    return schema;
  env.close();
  throw new ImeiflowError(
    'STORE_SCHEMA_MISMATCH',
    older || resumed
      ? `the store at ${path} has schema version 1 (owners and phones in clear): \`imeiflow run\` migrates it ` +
          'on start, with the cluster key (docs/operations.md)'
      : `the store at ${path} has schema version ${current.schemaVersion} (structures ${current.structures}); ` +
          `this imeiflow reads version ${SCHEMA_VERSION} (structures ${STRUCTURES_FINGERPRINT})`,
  );
}

/** LMDB meta key: the withdrawals index was built from the declarations (stores of earlier builds lack it). */
const WITHDRAWALS_INDEXED_KEY = 'withdrawals-indexed';

/**
 * A store written before the withdrawals index existed gets it once, from its declarations; from
 * then on every decision keeps it (src/store/declarations.ts). Additive: the schema version stays.
 */
function indexWithdrawals(
  env: RootDatabase,
  meta: Database<number, string>,
  declarations: Database<DeclarationEntry[], string>,
  withdrawals: Database<string, string>,
): void {
  if (meta.get(WITHDRAWALS_INDEXED_KEY) !== undefined) return;
  env.transactionSync(() => {
    for (const { key, value } of declarations.getRange()) {
      for (const entry of value) {
        if (entry.status === 'refused' || entry.status === 'revoked')
          withdrawals.put(key, entry.applicationId);
      }
    }
    meta.put(WITHDRAWALS_INDEXED_KEY, 1);
  });
}

/**
 * Keys left in the slot file by a transaction that never committed, or by commits a machine crash
 * took back: the store names nothing they sealed, and they are destroyed (SubjectKeys.destroyStray).
 */
function destroyStrayKeys(env: RootDatabase, subjects: SubjectKeys): void {
  env.transactionSync(() => {
    if (subjects.destroyStray() > 0) subjects.flush();
  });
}

const TAC_VERSION_KEY = 'tac-version';

/** Changes whenever the TAC table is written, so readers holding a TAC cache know to drop it. */
export function tacVersion(store: Store): number {
  return store.meta.get(TAC_VERSION_KEY) ?? 0;
}

/** Call inside the write transaction that changes the TAC table. */
export function bumpTacVersion(store: Store): void {
  store.meta.put(TAC_VERSION_KEY, tacVersion(store) + 1);
}
