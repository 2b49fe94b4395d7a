/**
 * A whole database read in steps, as `scanPending` reads the waiting requests: one synchronous
 * range read of `chunk` entries at a time, from the key after the last one seen, with the event
 * loop free between steps and no read transaction held across them. The caller may change or
 * remove entries it was given before asking for the next step: the next step starts after the
 * last key, whatever happened to it.
 */
import type { Database } from 'lmdb';
import type { Store } from './store.js';

export const RANGE_STEP_CHUNK = 1_000;

export interface RangeEntry<V> {
  readonly key: string;
  readonly value: V;
}

export interface StepOptions {
  readonly chunk?: number;
  /** The first key to read (inclusive). */
  readonly start?: string;
  /** The key to stop before (exclusive). */
  readonly end?: string;
}

export async function* rangeSteps<V>(
  store: Store,
  db: Database<V, string>,
  options: StepOptions = {},
): AsyncGenerator<readonly RangeEntry<V>[]> {
  const chunk = options.chunk ?? RANGE_STEP_CHUNK;
  const end = options.end === undefined ? {} : { end: options.end };
  let after: string | undefined;
  for (;;) {
    store.env.resetReadTxn();
    const range =
      after === undefined
        ? db.getRange({
            ...(options.start === undefined ? {} : { start: options.start }),
            ...end,
            limit: chunk,
          })
        : db.getRange({ start: after, ...end, limit: chunk + 1 });
    const step: RangeEntry<V>[] = [];
    for (const { key, value } of range) if (key !== after) step.push({ key, value });
    const last = step[step.length - 1];
    if (last === undefined) return;
    after = last.key;
    yield step;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
