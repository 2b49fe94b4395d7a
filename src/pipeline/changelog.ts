/**
 * Partition-local state (pending requests and the registry) as changelog records: one record
 * per device and kind, keyed `p/<body>` or `r/<body>`, the value the whole current state (msgpack)
 * or a tombstone. Records go to partition N of the compacted changelog topic; applying them in
 * order rebuilds the state of partition N on whichever instance owns it next.
 */
import type { RegistryEntry } from '../../workers/types.js';
import type { PendingEntry } from '../store/records.js';
import type { Store } from '../store/store.js';
import { structuredPackr } from '../store/structures.js';

const packr = structuredPackr();
const PENDING_PREFIX = 'p/';
const REGISTRY_PREFIX = 'r/';

export function pendingKey(body: string): string {
  return PENDING_PREFIX + body;
}

export function registryKey(body: string): string {
  return REGISTRY_PREFIX + body;
}

export function encodeState(value: readonly PendingEntry[] | RegistryEntry | null): Uint8Array | null {
  if (value === null || (Array.isArray(value) && value.length === 0)) return null;
  return new Uint8Array(packr.pack(value));
}

/** Apply one changelog record to the store. Call inside a write transaction. */
export function applyChangelogRecord(store: Store, key: string, value: Uint8Array | null): void {
  if (key.startsWith(PENDING_PREFIX)) {
    const body = key.slice(PENDING_PREFIX.length);
    if (value === null) store.pending.remove(body);
    else store.pending.put(body, packr.unpack(value) as PendingEntry[]);
  } else if (key.startsWith(REGISTRY_PREFIX)) {
    const body = key.slice(REGISTRY_PREFIX.length);
    if (value === null) store.registry.remove(body);
    else store.registry.put(body, packr.unpack(value) as RegistryEntry);
  }
  // Other keys belong to later versions: skipped, never fatal.
}
