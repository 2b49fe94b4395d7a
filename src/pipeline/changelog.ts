/**
 * Partition-local state (pending requests and the registry) as changelog records: one record
 * per device and kind, keyed `p/<body>` or `r/<body>`, the value the whole current state (msgpack)
 * or a tombstone. Records go to partition N of the compacted changelog topic; applying them in
 * order rebuilds the state of partition N on whichever instance owns it next.
 */
import type { RegistryEntry } from '../domain/types.js';
import type { PendingEntry } from '../store/records.js';
import { type Store, storedAsIs } from '../store/store.js';
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

/**
 * Apply one changelog record read from the changelog topic. Call inside a write transaction.
 * The value is decoded first, so a record that is not valid msgpack fails here rather than in a
 * later reader.
 */
export function applyChangelogRecord(store: Store, key: string, value: Uint8Array | null): void {
  apply(store, key, value === null ? null : packr.unpack(value));
}

/**
 * Apply a changelog record this imeiflow encoded itself (`encodeState`, carried in the
 * journal): its bytes are already the store's encoding, so they are stored as is.
 */
export function applyOwnChangelogRecord(store: Store, key: string, value: Uint8Array | null): void {
  apply(store, key, value === null ? null : storedAsIs(value));
}

function apply(store: Store, key: string, state: unknown): void {
  if (key.startsWith(PENDING_PREFIX)) {
    const body = key.slice(PENDING_PREFIX.length);
    if (state === null) store.pending.remove(body);
    else store.pending.put(body, state as PendingEntry[]);
  } else if (key.startsWith(REGISTRY_PREFIX)) {
    const body = key.slice(REGISTRY_PREFIX.length);
    if (state === null) store.registry.remove(body);
    else store.registry.put(body, state as RegistryEntry);
  }
  // Other keys belong to later versions: skipped, never fatal.
}
