/**
 * Schema 1 → 2 (issue 22, point 3): a store written before personal fields were sealed has owners'
 * IIN/BIN and phones in clear in its registry, registry view, waiting requests, review table and
 * final outcomes, IINs in the purge marks, in the purges' audit entries and in purge commands
 * waiting to be sent, and in `audit.jsonl`. Opened by `imeiflow run` (which holds the cluster
 * key), it is migrated before anything reads it:
 *
 * - the owner purge marks re-keyed by pseudonym (first: what follows checks them);
 * - every record with a personal field sealed under its subject key (src/store/sealed-records.ts),
 *   dated by the record, so a purge ordered after it destroys it; a record a purge already covers
 *   is deleted instead;
 * - purge audit entries (the store and `audit.jsonl`) name the owner by pseudonym; a purge command
 *   waiting in the outbox reaches what is erased instead of naming an owner.
 *
 * In steps of CHUNK entries, one transaction each; the schema record says `migrating` throughout,
 * so a crash midway resumes here (a record already sealed is left as it is) and an older imeiflow
 * refuses the store. The old bytes stay in the store's free pages: `imeiflow store copy` makes a
 * copy without them (docs/operations.md).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import { PURGE_ACTION_PREFIX } from '../domain/retention.js';
import type { OutcomeRecord, PendingEntry, RegistryEntry } from '../domain/types.js';
import type { OwnerPseudonyms } from './pseudonyms.js';
import { ownerMarkedAt } from './purge-marks.js';
import type { AuditEntry, OutboxEntry } from './records.js';
import { type StoredView, storedOutcomeOf, storedPendingOf, storedRegistryOf } from './sealed-records.js';
import { Sealer } from './sealer.js';
import { structuredEncoderOptions } from './structures.js';
import type { SubjectKeys } from './subject-keys.js';

const CHUNK = 1000;
const IIN = /^\d{12}$/;
const OWNER_MARK = 'purge/iin/';

type Raw = Database<unknown, string>;

interface Migration {
  readonly env: RootDatabase;
  readonly meta: Database<number, string>;
  readonly pseudonyms: OwnerPseudonyms;
  readonly subjects: SubjectKeys;
}

/** Whether a purge already ordered covers `ownerId`'s data recorded at `at`. */
function purged(m: Migration, ownerId: string | null | undefined, at: string): boolean {
  if (ownerId === null || ownerId === undefined) return false;
  return m.pseudonyms.all(ownerId).some((p) => (ownerMarkedAt(m.meta, p) ?? -1) >= Date.parse(at));
}

/**
 * Rewrites every value of `db` in chunks: `next` gives the new value (unchanged: the same object;
 * null: delete), with a sealer that installs the keys it makes.
 */
function rewrite(
  m: Migration,
  db: Raw,
  next: (value: unknown, sealer: Sealer, key: string) => unknown,
): number {
  let changed = 0;
  let start: string | undefined;
  for (;;) {
    const entries = [...db.getRange({ ...(start === undefined ? {} : { start }), limit: CHUNK + 1 })];
    const chunk = entries.slice(0, CHUNK);
    m.env.transactionSync(() => {
      const sealer = new Sealer(m.subjects, m.pseudonyms);
      for (const { key, value } of chunk) {
        const updated = next(value, sealer, key);
        if (updated === value) continue;
        if (updated === null) void db.remove(key);
        else void db.put(key, updated);
        changed++;
      }
      sealer.flush();
    });
    if (entries.length <= CHUNK) return changed;
    start = entries[CHUNK]!.key;
  }
}

const sealedAlready = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && 'personal' in value;

function registryValue(m: Migration, value: unknown, sealer: Sealer): unknown {
  if (sealedAlready(value)) return value;
  const entry = value as RegistryEntry;
  return purged(m, entry.ownerId, entry.at) ? null : storedRegistryOf(entry, sealer);
}

function pendingValue(m: Migration, value: unknown, sealer: Sealer, body: string): unknown {
  const entries = value as (PendingEntry | { personal: unknown })[];
  if (entries.every(sealedAlready)) return value;
  const kept = entries.filter(
    (e) => sealedAlready(e) || !purged(m, (e as PendingEntry).request.ownerId, (e as PendingEntry).since),
  );
  if (kept.length === 0) return null;
  return kept.map((e) => (sealedAlready(e) ? e : storedPendingOf(body, [e as PendingEntry], sealer)[0]));
}

function outcomeValue(m: Migration, value: unknown, sealer: Sealer): unknown {
  if (sealedAlready(value)) return value;
  const record = value as OutcomeRecord;
  const d = record.decision;
  if (d.outcome !== 'confirmed' || (d.ownerId === null && d.msisdn === null)) return value;
  return purged(m, d.ownerId, record.at) ? null : storedOutcomeOf(record, sealer);
}

function viewValue(m: Migration, value: unknown, sealer: Sealer): unknown {
  const view = value as { order: number; entry: unknown };
  if (view.entry === null || sealedAlready(view.entry)) return value;
  const entry = registryValue(m, view.entry, sealer);
  return { order: view.order, entry } satisfies Omit<StoredView, 'entry'> & { entry: unknown };
}

/** Owner purge marks by IIN → one mark per pseudonym. */
function rekeyMarks(m: Migration): void {
  const clear = [...m.meta.getRange({ start: OWNER_MARK, end: 'purge/iin0' })].filter(({ key }) =>
    IIN.test(key.slice(OWNER_MARK.length)),
  );
  m.env.transactionSync(() => {
    for (const { key, value } of clear) {
      for (const p of m.pseudonyms.all(key.slice(OWNER_MARK.length))) {
        if ((m.meta.get(`${OWNER_MARK}${p}`) ?? -1) < value) void m.meta.put(`${OWNER_MARK}${p}`, value);
      }
      void m.meta.remove(key);
    }
  });
}

function pseudonymousTarget(m: Migration, entry: AuditEntry): AuditEntry {
  if (entry.action !== `${PURGE_ACTION_PREFIX}iin` || entry.target === null || !IIN.test(entry.target))
    return entry;
  return { ...entry, target: m.pseudonyms.all(entry.target).join(' ') };
}

/** `audit.jsonl` with purge targets pseudonymous: written beside it, synced, renamed over it. */
function rewriteAuditFile(m: Migration, file: string): void {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, 'utf8').split('\n');
  let changed = false;
  const rewritten = lines.map((line) => {
    if (!line.includes(`"${PURGE_ACTION_PREFIX}iin"`)) return line;
    const entry = JSON.parse(line) as AuditEntry;
    const after = pseudonymousTarget(m, entry);
    if (after === entry) return line;
    changed = true;
    return JSON.stringify(after);
  });
  if (!changed) return;
  const fd = openSync(`${file}.migrating`, 'w', 0o600);
  try {
    writeSync(fd, rewritten.join('\n'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${file}.migrating`, file);
}

export function migrateSealed(
  env: RootDatabase,
  pseudonyms: OwnerPseudonyms,
  subjects: SubjectKeys,
  storePath: string,
): void {
  const raw = (name: string): Raw => {
    // `encoder` options reach msgpackr; lmdb-js's typings do not list the key.
    const options = { name, encoding: 'msgpack' as const, encoder: structuredEncoderOptions() };
    return env.openDB<unknown, string>(options);
  };
  const m: Migration = { env, meta: raw('meta') as Database<number, string>, pseudonyms, subjects };
  rekeyMarks(m);
  rewrite(m, raw('registry'), (v, s) => registryValue(m, v, s));
  rewrite(m, raw('registry-view'), (v, s) => viewValue(m, v, s));
  rewrite(m, raw('pending'), (v, s, body) => pendingValue(m, v, s, body));
  rewrite(m, raw('reviews'), (v, s, body) => pendingValue(m, v, s, body));
  rewrite(m, raw('outcomes'), (v, s) => outcomeValue(m, v, s));
  rewrite(m, raw('audit'), (v) => pseudonymousTarget(m, v as AuditEntry));
  rewrite(m, raw('command-outbox'), (v) => {
    const entry = v as OutboxEntry & { command: { type?: unknown; ownerId?: unknown } };
    if (entry.command.type !== 'purge' || entry.command.ownerId === undefined) return v;
    const { ownerId: _owner, ...command } = entry.command;
    return { partition: entry.partition, command: { ...command, erased: true } };
  });
  rewriteAuditFile(m, join(dirname(storePath), 'audit.jsonl'));
}
