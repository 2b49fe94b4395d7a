/**
 * Every device's waiting requests, read in steps: one synchronous range read of `chunk` devices
 * at a time, from the key after the last one seen (keys are ordered), with the event loop free
 * between steps. A day's waiting requests can run to millions; one pass over them would stall the
 * pipeline for seconds (measured: 505 ms for 200 000). No read transaction is held across a step.
 */
import type { PendingEntry } from './records.js';
import type { Store } from './store.js';

export const PENDING_SCAN_CHUNK = 1_000;

/**
 * `table`: `pending`, the partitions this instance owns (its own state); `reviews`, every
 * partition's (the review table, src/pipeline/global-tables.ts).
 */
export async function* scanPending(
  store: Store,
  chunk: number = PENDING_SCAN_CHUNK,
  table: 'pending' | 'reviews' = 'pending',
): AsyncGenerator<readonly [body: string, entries: readonly PendingEntry[]]> {
  const db = store[table];
  let after: string | undefined;
  for (;;) {
    store.env.resetReadTxn();
    const range =
      after === undefined ? db.getRange({ limit: chunk }) : db.getRange({ start: after, limit: chunk + 1 });
    const step: (readonly [string, readonly PendingEntry[]])[] = [];
    for (const { key, value } of range) if (key !== after) step.push([key, value]);
    const last = step[step.length - 1];
    if (last === undefined) return;
    after = last[0];
    yield* step;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
