/**
 * LMDB cannot grow: the disk under the data directory is full (ENOSPC, EDQUOT), the process may
 * not write a larger file (EFBIG: `ulimit -f`), or a page write came back short (LMDB reports a
 * short write as EIO: "short write, filesystem full?", mdb.c). Nothing is lost — the failed
 * transaction is not committed and the positions it covered are not moved — but nothing can go
 * on either: the service stops taking input with an error that says where and what to do, and a
 * restart with room continues where it stopped.
 *
 * lmdb-js grows its memory map by itself (its `mapSize` is only the initial size), so its
 * MDB_MAP_FULL is not what a full store looks like in practice: a failed commit is. lmdb-js
 * rejects a failed commit with "Commit failed (see commitError for details)" and the reason in a
 * separate promise, `commitError`; `withCommitReason` puts that reason in the error's `cause`.
 */
import { readFileSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ImeiflowError, messageOf } from '../errors.js';

/** lmdb-js reports MDB_MAP_FULL with this code. */
const MDB_MAP_FULL = -30792;
const COMMIT_FAILED = 'LMDB commit failed';
/** Node's fs errors when a file cannot grow (the uploads, audit.jsonl). */
const CANNOT_GROW_CODES = new Set<unknown>(['ENOSPC', 'EDQUOT', 'EFBIG', MDB_MAP_FULL]);
/**
 * The reasons of a failed LMDB commit (strerror texts, after `withCommitReason`) that mean the
 * file could not grow. By text, because a worker's error arrives cloned: its message and cause
 * are all that is left, not its code (and numeric codes alone would match Kafka's error codes).
 */
const CANNOT_GROW_TEXT = new RegExp(
  `MDB_MAP_FULL|No space left on device|${COMMIT_FAILED}: (Disk quota exceeded|File too large|Input/output error)`,
);
/** lmdb-js settles `commitError` in the same callback as the commit; this only guards a hang. */
const COMMIT_REASON_WAIT_MS = 1000;

/**
 * Resolve lmdb-js's `commitError` of a failed write into the error's cause, so the reason is
 * logged and survives the trip from a worker thread (structured clone keeps message and cause,
 * not other fields). Any other error is returned as it is. Call it right where the write's
 * promise rejects: until then the reason promise is unhandled, which would stop the process.
 */
export async function withCommitReason(error: unknown): Promise<unknown> {
  // The reason itself, when its promise went unhandled and reached the process's handler.
  if (isCommitReason(error)) return commitFailure(error);
  const pending = (error as { commitError?: unknown } | null)?.commitError;
  if (!(pending instanceof Promise)) return error;
  let timer: NodeJS.Timeout | undefined;
  const reason = await Promise.race([
    pending.then(
      () => undefined,
      (e: unknown) => e,
    ),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), COMMIT_REASON_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
  return reason === undefined ? error : commitFailure(reason);
}

/** `withCommitReason` down the cause chain: a load or a task may wrap the failed write. */
export async function withCommitReasons(error: unknown): Promise<unknown> {
  const top = await withCommitReason(error);
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (top !== error || cause === undefined || cause === null) return top;
  const inner = await withCommitReasons(cause);
  if (inner === cause) return error;
  return error instanceof ImeiflowError
    ? new ImeiflowError(error.code, error.message, { cause: inner, retriable: error.retriable })
    : new Error(messageOf(error), { cause: inner });
}

function commitFailure(reason: unknown): Error {
  const { code } = reason as { code?: unknown };
  return new Error(`${COMMIT_FAILED}: ${messageOf(reason)}${code === undefined ? '' : ` (code ${code})`}`, {
    cause: reason,
  });
}

/**
 * The errno error lmdb-js makes for a failed commit (`lmdbError` in write.js): numeric code,
 * thrown from lmdb-js's write queue. Its stack is the only mark it carries.
 */
function isCommitReason(error: unknown): boolean {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'number' &&
    /[\\/]lmdb[\\/]write\.js:/.test(error.stack ?? '')
  );
}

/**
 * lmdb-js leaves one promise of each write batch unwatched (write.js starts an event-turn batch
 * and drops the commit promise of its first instruction), so a failed commit also rejects a
 * promise nobody waits for: "Commit failed", an unhandled rejection. True for such a rejection
 * (its reason is marked handled too). The write that failed reports the failure itself.
 */
export function isUnwatchedCommitFailure(reason: unknown): boolean {
  const pending = (reason as { commitError?: unknown } | null)?.commitError;
  if (!(pending instanceof Promise)) return false;
  pending.catch(() => undefined);
  return true;
}

/** Run an LMDB write; a failed commit is rethrown with its reason (`withCommitReason`). */
export async function committed<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    throw await withCommitReason(error);
  }
}

/** The error, or one in its cause chain, says the store could not grow. */
export function isStoreFull(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    if (e instanceof ImeiflowError && e.code === 'STORE_FULL') return true;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (CANNOT_GROW_CODES.has(code)) return true;
    if (typeof message === 'string' && CANNOT_GROW_TEXT.test(message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * STORE_FULL for `dataDir`: says what failed, what the directory's filesystem and the process's
 * file-size limit allow now (so an operator sees which one it was), and what to do.
 */
export function storeFullError(dataDir: string, cause: unknown): ImeiflowError {
  if (cause instanceof ImeiflowError && cause.code === 'STORE_FULL') return cause;
  return new ImeiflowError(
    'STORE_FULL',
    `the LMDB store in ${dataDir} cannot grow (${reasonOf(cause)}; ${roomOf(dataDir)}): input has stopped ` +
      'and nothing was lost; give it room — free or grow the disk under it, or raise the file-size limit ' +
      '(ulimit -f) — and restart: it continues where it stopped',
    { cause },
  );
}

function reasonOf(error: unknown): string {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    const { message } = e as { message?: unknown };
    if (typeof message === 'string') {
      const text = CANNOT_GROW_TEXT.exec(message)?.[0];
      if (text?.endsWith('Input/output error'))
        return 'a page write failed or came back short (EIO), as when the disk is full — or the disk fails';
      if (text !== undefined) return text.replace(`${COMMIT_FAILED}: `, '');
    }
    e = (e as { cause?: unknown }).cause;
  }
  return messageOf(error);
}

/** Free space under the directory, the store file's size and the file-size limit, as far as known. */
function roomOf(dataDir: string): string {
  const facts: string[] = [];
  try {
    const fs = statfsSync(dataDir);
    facts.push(`${mib(fs.bavail * fs.bsize)} free on its filesystem`);
  } catch {
    // the directory may be gone; the rest still helps
  }
  try {
    facts.push(`store file ${mib(statSync(join(dataDir, 'imeiflow.lmdb')).size)}`);
  } catch {
    // not created yet
  }
  const limit = fileSizeLimit();
  if (limit !== undefined) facts.push(`file-size limit ${limit === null ? 'none' : mib(limit)}`);
  return facts.join(', ');
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** RLIMIT_FSIZE of this process in bytes (null: unlimited), where /proc says (Linux). */
function fileSizeLimit(): number | null | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max file size'));
    const soft = line?.slice('Max file size'.length).trim().split(/\s+/)[0];
    if (soft === undefined) return undefined;
    return soft === 'unlimited' ? null : Number(soft);
  } catch {
    return undefined;
  }
}
