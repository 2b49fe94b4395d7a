/**
 * The review table: every partition's waiting requests, read from the pending changelog, so a
 * reviewer on any instance sees (and can decide) all of them. A view only: the partition's owner
 * decides from its own state. Owners and phones are sealed as they are stored, with the keys synced
 * once per batch (src/store/sealed-writes.ts); a record a purge already covers is stored erased.
 */
import type { PendingEntry } from '../domain/types.js';
import { SealedWrites } from '../store/sealed-writes.js';
import type { GlobalTable } from './global-tables.js';
import type { LogMessage } from './kafka-port.js';
import type { Decoded, Keyed } from './table-decoders.js';

/** `decode`: the pending changelog's decoder, which opens its sealed records (table-decoders.ts). */
export function reviewTable(
  decode: (m: LogMessage) => Decoded<Keyed<PendingEntry[]>>,
): GlobalTable<Keyed<PendingEntry[]>> {
  return {
    role: 'pendingChangelog',
    decode,
    apply(store, records) {
      // Made afresh each time: a transaction that failed is applied again from the start.
      const writes = new SealedWrites(store);
      for (const { value } of records) writes.reviews(value.key, value.value);
      writes.flush();
    },
  };
}
