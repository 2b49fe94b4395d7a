/**
 * Stores whose records hold people's data, for tests: opened with the test cluster key's secrets,
 * and written as the service writes them, owners and phones sealed (src/store/sealed-writes.ts).
 * The stores refuse a record with an owner or phone in clear.
 */
import type { OutcomeRecord, PendingEntry, RegistryEntry } from '../../src/domain/types.js';
import { putPending } from '../../src/store/pending-index.js';
import { storedOutcomeOf } from '../../src/store/sealed-records.js';
import { SealedWrites } from '../../src/store/sealed-writes.js';
import { Sealer } from '../../src/store/sealer.js';
import { openStore, type Store, type StoreOptions } from '../../src/store/store.js';
import { TEST_SECRETS } from './cluster-key.js';

/** A store opened as the service opens it: with the cluster key's secrets. */
export function testStore(dataDir: string, options: Omit<StoreOptions, 'dataDir' | 'secrets'> = {}): Store {
  return openStore({ dataDir, secrets: TEST_SECRETS, ...options });
}

export interface SealedPuts {
  registry(body: string, entry: RegistryEntry): void;
  view(body: string, order: number, entry: RegistryEntry | null): void;
  pending(body: string, entries: readonly PendingEntry[]): void;
  reviews(body: string, entries: readonly PendingEntry[]): void;
  outcome(requestId: string, record: OutcomeRecord): void;
}

/** Records written in one transaction, sealed. */
export async function putSealed(store: Store, write: (put: SealedPuts) => void): Promise<void> {
  await store.env.transaction(() => {
    const writes = new SealedWrites(store);
    const sealer = new Sealer(store.subjects, store.pseudonyms);
    write({
      registry: (body, entry) => writes.registry(body, entry),
      view: (body, order, entry) => writes.view(body, order, entry),
      pending: (body, entries) => putPending(store, body, entries, writes),
      reviews: (body, entries) => writes.reviews(body, entries),
      outcome: (requestId, record) =>
        void store.outcomes.put(requestId, storedOutcomeOf(record, sealer) as unknown as OutcomeRecord),
    });
    writes.flush();
    sealer.flush();
  });
}
