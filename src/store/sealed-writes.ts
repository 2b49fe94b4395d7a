/**
 * How records that hold people's data are written — a batch's state (src/pool/state-ops.ts, in a
 * worker or recovery), a partition restored from its changelogs, the registry view, the review
 * table, the sweep — inside one write transaction:
 * their personal fields sealed (src/store/sealed-records.ts), new subject keys installed, and the
 * slot file synced before the transaction commits (`flush`, last in the transaction).
 *
 * What Kafka brings back that a purge already covers — recorded before a purge of its owner or its
 * device this instance knows of — is stored `erased`, with nothing of the owner or phone: the
 * record stays for the sweep to remove (and, for the partition's own state, to answer its waiting
 * request `purged`), but no new key ever seals what a purge destroyed.
 */
import type { OutcomeRecord, PendingEntry, RegistryEntry } from '../domain/types.js';
import { putPending } from './pending-index.js';
import { storedOutcomeOf, storedPendingOf, storedRegistryOf } from './sealed-records.js';
import { Sealer } from './sealer.js';
import type { Store } from './store.js';

const OWNER_MARKS = { start: 'purge/iin/', end: 'purge/iin0', limit: 1 };

export class SealedWrites {
  readonly #store: Store;
  readonly #sealer: Sealer;
  /** Whether this store knows of any owner's purge (most of the time none: no pseudonym computed). */
  readonly #ownerPurges: boolean;

  /** Call inside the write transaction, and `flush` last in it. */
  constructor(store: Store) {
    this.#store = store;
    this.#sealer = new Sealer(store.subjects, store.pseudonyms);
    this.#ownerPurges = [...store.meta.getKeys(OWNER_MARKS)].length > 0;
  }

  /** Whether a purge this store knows of covers data of `ownerId` about `body` recorded at `at`. */
  covered(body: string, ownerId: string | null | undefined, at: string): boolean {
    const time = Date.parse(at);
    const subjects = this.#store.subjects;
    if (subjects.purged('', body, time)) return true;
    if (!this.#ownerPurges || ownerId === null || ownerId === undefined) return false;
    return this.#store.pseudonyms.all(ownerId).some((owner) => subjects.purged(owner, body, time));
  }

  #registryValue(body: string, entry: RegistryEntry): RegistryEntry {
    const erased = entry.erased === true || this.covered(body, entry.ownerId, entry.at);
    return erased ? { ...entry, ownerId: null, msisdn: null, erased: true } : entry;
  }

  #pendingValue(body: string, entries: readonly PendingEntry[]): PendingEntry[] {
    return entries.map((e) => {
      if (e.erased === true || !this.covered(body, e.request.ownerId, e.since)) return e;
      const { ownerId: _owner, msisdn: _msisdn, ...request } = e.request;
      return { ...e, request, erased: true };
    });
  }

  registry(body: string, entry: RegistryEntry): void {
    const stored = storedRegistryOf(this.#registryValue(body, entry), this.#sealer);
    void this.#store.registry.put(body, stored as unknown as RegistryEntry);
  }

  view(body: string, order: number, entry: RegistryEntry | null): void {
    const stored = entry === null ? null : storedRegistryOf(this.#registryValue(body, entry), this.#sealer);
    void this.#store.registryView.put(body, { order, entry: stored as unknown as RegistryEntry | null });
  }

  /** A final outcome; a confirmation a purge covers is stored erased, without its owner and phone. */
  outcome(requestId: string, record: OutcomeRecord): void {
    const d = record.decision;
    const covered =
      d.outcome === 'confirmed' &&
      record.erased !== true &&
      (d.ownerId !== null || d.msisdn !== null) &&
      this.covered(d.body, d.ownerId, record.at);
    const value: OutcomeRecord = covered
      ? { ...record, decision: { ...d, ownerId: null, msisdn: null }, erased: true }
      : record;
    const stored = storedOutcomeOf(value, this.#sealer);
    void this.#store.outcomes.put(requestId, stored as unknown as OutcomeRecord);
  }

  /** A device's waiting requests in the review table; none (null or empty) removes it. */
  reviews(body: string, entries: readonly PendingEntry[] | null): void {
    if (entries === null || entries.length === 0) void this.#store.reviews.remove(body);
    else void this.#store.reviews.put(body, this.#stored(body, entries));
  }

  /** A device's waiting requests as stored (for `putPending`, which keeps their index). */
  #stored(body: string, entries: readonly PendingEntry[]): PendingEntry[] {
    return storedPendingOf(
      body,
      this.#pendingValue(body, entries),
      this.#sealer,
    ) as unknown as PendingEntry[];
  }

  /** The stored form of a device's waiting requests. */
  pending(body: string, entries: readonly PendingEntry[]): PendingEntry[] {
    return this.#stored(body, entries);
  }

  /** Makes the keys installed durable: last in the transaction. */
  flush(): void {
    this.#sealer.flush();
  }
}

/** Registry entries restored from the confirmations topic, sealed (recovery). Call inside a write transaction. */
export function putRestoredRegistry(store: Store, entries: readonly RegistryEntry[]): void {
  const writes = new SealedWrites(store);
  for (const entry of entries) writes.registry(entry.imei.slice(0, 14), entry);
  writes.flush();
}

/** Waiting requests restored from the pending changelog, sealed (recovery). Call inside a write transaction. */
export function putRestoredPending(
  store: Store,
  changes: readonly (readonly [body: string, entries: readonly PendingEntry[] | null])[],
): void {
  const writes = new SealedWrites(store);
  for (const [body, entries] of changes) putPending(store, body, entries, writes);
  writes.flush();
}
