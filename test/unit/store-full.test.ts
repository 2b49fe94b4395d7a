/**
 * A store that cannot grow: recognised from the shapes lmdb-js gives (a failed commit with its
 * reason in a separate promise, write.js), also after the error crossed from a worker thread,
 * and turned into one STORE_FULL error that names the data directory and what to do. The real
 * failure, made by the kernel, is in test/integration/store-full.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ImeiflowError } from '../../src/errors.js';
import { fatalErrorOf } from '../../src/service.js';
import {
  isStoreFull,
  storeFullError,
  withCommitReason,
  withCommitReasons,
} from '../../src/store/store-full.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();

describe('a store that cannot grow', () => {
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
