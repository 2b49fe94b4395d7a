/**
 * Stores a batch's state changes (the `ops` of its outputs section: src/pool/batch-contract.ts),
 * whoever applies them: the worker that decides the partition's next batch, or recovery from a
 * journal record. Idempotent: applying a batch twice leaves the same state.
 *
 * Registry entries, waiting requests and outcomes are stored with their owners and phones sealed
 * under this instance's subject keys (src/store/sealed-writes.ts; issue 22, point 3): sealed here,
 * where they are stored, so the keys never leave the instance that holds them, and what a purge
 * known here already covers is stored erased.
 */

import type { OutcomeRecord, PendingEntry, RegistryEntry } from '../domain/types.js';
import { SealedWrites } from '../store/sealed-writes.js';
import { decodeStored } from '../store/state-codec.js';
import type { Store } from '../store/store.js';
import { DB_OUTCOMES, DB_PENDING, DB_PENDING_BY_APPLICATION, DB_REGISTRY, OP_PUT } from './batch-contract.js';
import type { BatchOutputs } from './outputs-section.js';

/** Call inside a write transaction. Returns the devices given waiting requests. */
export function applyStateOps(store: Store, outputs: BatchOutputs): string[] {
  const waiting: string[] = [];
  const writes = new SealedWrites(store);
  for (let i = 0; i < outputs.opCount; i++) {
    const db = outputs.opDb(i);
    const op = outputs.opCode(i);
    const key = outputs.opKeyText(i);
    const value = outputs.opValue(i);
    const put = op === OP_PUT && value !== null;
    switch (db) {
      case DB_OUTCOMES:
        if (put) writes.outcome(key, decodeStored<OutcomeRecord>(value));
        else store.outcomes.remove(key);
        break;
      case DB_PENDING:
        if (put) {
          store.pending.put(key, writes.pending(key, decodeStored<PendingEntry[]>(value)));
          waiting.push(key);
        } else store.pending.remove(key);
        break;
      case DB_REGISTRY:
        if (put) writes.registry(key, decodeStored<RegistryEntry>(value));
        else store.registry.remove(key);
        break;
      case DB_PENDING_BY_APPLICATION: {
        const body = value === null ? null : value.toString('utf8');
        if (body === null) break;
        if (op === OP_PUT) store.pendingByApplication.put(key, body);
        else store.pendingByApplication.remove(key, body);
        break;
      }
    }
  }
  // The new keys on disk before the transaction that names them commits.
  writes.flush();
  return waiting;
}
