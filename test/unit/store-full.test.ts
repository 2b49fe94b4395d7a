/**
 * A store that cannot grow: recognised from what lmdb-js really gives (a failed commit with its
 * reason in a separate promise), also after the error crossed from a worker thread, and turned
 * into one STORE_FULL error that names the data directory and what to do.
 *
 * The real failure is made by the kernel: a child process whose file-size limit (RLIMIT_FSIZE,
 * `prlimit` from util-linux) stops the store file from growing, as a full disk would.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImeiflowError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { fatalErrorOf } from '../../src/service.js';
import { openStore } from '../../src/store/store.js';
import {
  committed,
  isStoreFull,
  storeFullError,
  withCommitReason,
  withCommitReasons,
} from '../../src/store/store-full.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const FILE_SIZE_LIMIT = 4 * 1024 * 1024;

/** Fill a store under a file-size limit in a child process; returns what it saw. */
function fillUnderLimit(dataDir: string): {
  batches: number;
  unwatched: number;
  message: string;
  storeFull: boolean;
  fatal: { code: string; message: string };
} {
  const dist = (file: string) => JSON.stringify(join(PACKAGE_ROOT, 'dist/src', file));
  const script = `
    import { openStore } from ${dist('store/store.js')};
    import { committed, isStoreFull, isUnwatchedCommitFailure } from ${dist('store/store-full.js')};
    import { fatalErrorOf } from ${dist('service.js')};
    let unwatched = 0;
    process.on('unhandledRejection', (reason) => {
      if (!isUnwatchedCommitFailure(reason)) throw reason;
      unwatched++;
    });
    const store = openStore({ dataDir: ${JSON.stringify(dataDir)} });
    let batches = 0;
    try {
      for (; batches < 10000; batches++) {
        const b = batches;
        await committed(store.env.transaction(() => {
          for (let j = 0; j < 20; j++) store.meta.put('k' + b + '-' + j, 'x'.repeat(1000) + b);
        }));
      }
      console.log(JSON.stringify({ batches }));
    } catch (error) {
      const fatal = await fatalErrorOf(error, ${JSON.stringify(dataDir)});
      await new Promise((r) => setTimeout(r, 100));
      console.log(JSON.stringify({
        batches, unwatched, message: error.message, storeFull: isStoreFull(error),
        fatal: { code: fatal.code, message: fatal.message },
      }));
    }
    // No close: lmdb-js waits for the failed batch for ever (the service exits instead).
    process.exit(0);
  `;
  const out = execFileSync(
    'prlimit',
    [`--fsize=${FILE_SIZE_LIMIT}`, process.execPath, '--input-type=module', '-e', script],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

describe('a store that cannot grow', () => {
  it('fails the commit that would grow it past the limit, names it STORE_FULL, and loses nothing committed', async () => {
    const dataDir = join(dir, 'limited');
    const seen = fillUnderLimit(dataDir);
    expect(seen.batches).toBeGreaterThan(10);
    // lmdb-js's own unwatched promise of the batch, seen and let go (the worker does the same).
    expect(seen.unwatched).toBe(1);
    expect(seen.message).toMatch(/^LMDB commit failed: (Input\/output error|File too large)/);
    expect(seen.storeFull).toBe(true);
    expect(seen.fatal.code).toBe('STORE_FULL');
    expect(seen.fatal.message).toContain(`the LMDB store in ${dataDir} cannot grow`);
    expect(seen.fatal.message).toContain(`file-size limit ${(FILE_SIZE_LIMIT / 1024 / 1024).toFixed(1)} MiB`);
    expect(seen.fatal.message).toContain('restart: it continues where it stopped');

    // With room again: every committed batch is there, the failed one is not, and writes go on.
    const store = openStore({ dataDir });
    try {
      const meta = store.meta as unknown as { get(key: string): string | undefined };
      for (let b = 0; b < seen.batches; b++)
        expect(meta.get(`k${b}-19`)?.endsWith(`${b}`), `batch ${b}`).toBe(true);
      expect(meta.get(`k${seen.batches}-0`)).toBeUndefined();
      await committed(store.env.transaction(() => store.meta.put('after', 1)));
      expect(store.meta.get('after')).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('reads the reason lmdb-js keeps apart, also after a worker thread cloned the error', async () => {
    // lmdb-js's shape: "Commit failed" now, the errno error in a promise (write.js rejectCommit).
    const reason = Object.assign(new Error('No space left on device'), { code: 28 });
    const failed = Object.assign(new Error('Commit failed (see commitError for details)'), {
      commitError: Promise.reject(reason),
    });
    const explained = await withCommitReason(failed);
    expect((explained as Error).message).toBe('LMDB commit failed: No space left on device (code 28)');
    expect((explained as Error).cause).toBe(reason);
    expect(isStoreFull(failed)).toBe(false);
    expect(isStoreFull(explained)).toBe(true);
    // A pool task failure wraps the worker's error; structured clone keeps message and cause only.
    const task = new ImeiflowError('POOL_TASK_FAILED', 'verify worker failed', {
      cause: structuredClone(explained),
    });
    expect(isStoreFull(task)).toBe(true);
    // Deeper in a chain (a load wraps the write).
    const load = new Error('load failed', {
      cause: Object.assign(new Error('Commit failed (see commitError for details)'), {
        commitError: Promise.reject(Object.assign(new Error('File too large'), { code: 27 })),
      }),
    });
    expect(isStoreFull(await withCommitReasons(load))).toBe(true);
  });

  it('does not take other errors for a full store', async () => {
    // node-rdkafka's errors carry numeric codes too: 27 is Kafka's REBALANCE_IN_PROGRESS.
    const kafka = Object.assign(new Error('Broker: Group rebalance in progress'), { code: 27 });
    expect(isStoreFull(kafka)).toBe(false);
    expect(isStoreFull(await withCommitReason(kafka))).toBe(false);
    expect(isStoreFull(new Error('Commit failed (see commitError for details)'))).toBe(false);
    const fatal = await fatalErrorOf(kafka, dir);
    expect(fatal).toBe(kafka);
  });

  it('a file write that finds the disk full is one too', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    expect(isStoreFull(enospc)).toBe(true);
    const error = storeFullError(dir, enospc);
    expect(error.code).toBe('STORE_FULL');
    expect(error.cause).toBe(enospc);
    expect(error.message).toContain(
      `the LMDB store in ${dir} cannot grow (ENOSPC: no space left on device, write;`,
    );
    expect(error.message).toMatch(/MiB free on its filesystem/);
    expect(storeFullError(dir, error)).toBe(error);
  });
});

describe('a fatal error', () => {
  it('keeps its code and cause for the log line', async () => {
    const cause = Object.assign(new Error('Local: Broker transport failure'), { code: -195 });
    const error = new ImeiflowError('KAFKA_FATAL', 'the journal could not be appended', { cause });
    const fatal = await fatalErrorOf(error, dir);
    expect(fatal).toBe(error);
    expect(fatal.cause).toBe(cause);
    expect(await fatalErrorOf('a string', dir)).toMatchObject({ message: 'a string' });
  });
});
