/**
 * Waiting requests of a device, written with the index of the applications they name (so a KGD
 * decision finds the requests waiting on its application). For writers that hold decoded entries:
 * a changelog restore and the sweep; `writes` seals their owners and phones (src/store/sealed-writes.ts).
 * Call inside a write transaction.
 */
import type { PendingEntry } from '../domain/types.js';
import type { SealedWrites } from './sealed-writes.js';
import type { Store } from './store.js';

function applicationsOf(entries: readonly PendingEntry[]): Set<string> {
  const ids = new Set<string>();
  for (const e of entries) if (e.request.applicationId !== undefined) ids.add(e.request.applicationId);
  return ids;
}

export function putPending(
  store: Store,
  body: string,
  entries: readonly PendingEntry[] | null,
  writes?: SealedWrites,
): void {
  const before = applicationsOf(store.pending.get(body) ?? []);
  const after = applicationsOf(entries ?? []);
  if (entries === null || entries.length === 0) store.pending.remove(body);
  else store.pending.put(body, writes === undefined ? [...entries] : writes.pending(body, entries));
  for (const id of after) if (!before.has(id)) store.pendingByApplication.put(id, body);
  for (const id of before) if (!after.has(id)) store.pendingByApplication.remove(id, body);
}
