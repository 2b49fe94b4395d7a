/**
 * The purges this instance knows of, in its `meta` store: what each names and when it was
 * ordered (ms since epoch). Written when the purge's audit entry is applied (in the same
 * transaction, so exactly once per instance), they let every instance destroy what Kafka still
 * brings back: declarations re-read from kgd.release.decisions (which cannot forget single
 * records), and outcomes, registry entries and waiting requests recorded before the purge that
 * reach this instance's store after it ran. Each lives as long as that can happen
 * (src/retention/retention-sweep.ts removes it): an IIN only a few days.
 *
 * An owner's mark names the owner by keyed pseudonym, one mark per key listed
 * (src/store/pseudonyms.ts): `purge/iin/<pseudonym>`, never the IIN.
 */
import type { Database } from 'lmdb';
import type { PurgeMarks, PurgeTarget } from '../domain/retention.js';
import { rangeSteps } from './range-steps.js';
import type { Store } from './store.js';

const PREFIX = 'purge/';
/** Sorts right after every key that starts with PREFIX ('/' + 1). */
const PREFIX_END = 'purge0';

export type MarkKind = PurgeTarget['kind'];

function keysOf(target: PurgeTarget): string[] {
  switch (target.kind) {
    case 'imei':
      return [`${PREFIX}imei/${target.body}`];
    case 'iin':
      return target.owners.map((owner) => `${PREFIX}iin/${owner}`);
    case 'application':
      return [`${PREFIX}application/${target.applicationId}`];
  }
}

/**
 * Call inside a write transaction. A later purge of the same thing moves its time forward.
 * Returns false when this instance already knew of this purge (or a later one).
 */
export function putPurgeMark(store: Store, target: PurgeTarget, orderedAt: number): boolean {
  let moved = false;
  for (const key of keysOf(target)) {
    const known = store.meta.get(key);
    if (known !== undefined && known >= orderedAt) continue;
    store.meta.put(key, orderedAt);
    moved = true;
  }
  return moved;
}

/** When `applicationId` (or the device `body`) was last purged, if it was. */
export function purgedAt(
  meta: Database<number, string>,
  kind: 'imei' | 'application',
  id: string,
): number | undefined {
  const at = meta.get(`${PREFIX}${kind}/${id}`);
  return typeof at === 'number' ? at : undefined;
}

/** When the owner named by `pseudonym` was last purged, if they were. */
export function ownerMarkedAt(meta: Database<number, string>, pseudonym: string): number | undefined {
  const at = meta.get(`${PREFIX}iin/${pseudonym}`);
  return typeof at === 'number' ? at : undefined;
}

export interface StoredMark {
  readonly key: string;
  readonly kind: MarkKind;
  readonly id: string;
  readonly orderedAt: number;
}

/** Every mark, read in steps. */
export async function readPurgeMarks(store: Store): Promise<StoredMark[]> {
  const marks: StoredMark[] = [];
  for await (const step of rangeSteps(store, store.meta, { start: PREFIX, end: PREFIX_END })) {
    for (const { key, value } of step) {
      const rest = key.slice(PREFIX.length);
      const slash = rest.indexOf('/');
      const kind = rest.slice(0, slash);
      if (kind !== 'imei' && kind !== 'iin' && kind !== 'application') continue;
      marks.push({ key, kind, id: rest.slice(slash + 1), orderedAt: value });
    }
  }
  return marks;
}

/** Device marks ordered after `since` (ms), as the pure checks take them. */
export function purgeMarksOf(marks: readonly StoredMark[], since: number): PurgeMarks {
  const imeis = new Map<string, number>();
  for (const mark of marks)
    if (mark.kind === 'imei' && mark.orderedAt >= since) imeis.set(mark.id, mark.orderedAt);
  return { imeis };
}

/** Whether an owner (or a device) was purged after `since` (ms): keys were destroyed, their records erased. */
export function erasedSince(marks: readonly StoredMark[], since: number): boolean {
  return marks.some((mark) => mark.kind !== 'application' && mark.orderedAt >= since);
}

/**
 * The device and application marks in memory, for the declarations table to consult on every
 * release decision without a store read per IMEI. Loaded at start; kept current by whoever
 * writes or removes a mark.
 */
export class PurgeMarkIndex {
  readonly #imeis = new Map<string, number>();
  readonly #applications = new Map<string, number>();

  static load(store: Store): PurgeMarkIndex {
    const index = new PurgeMarkIndex();
    store.env.resetReadTxn();
    for (const { key, value } of store.meta.getRange({ start: PREFIX, end: PREFIX_END })) {
      const rest = key.slice(PREFIX.length);
      const slash = rest.indexOf('/');
      index.#mapOf(rest.slice(0, slash))?.set(rest.slice(slash + 1), value);
    }
    return index;
  }

  #mapOf(kind: string): Map<string, number> | undefined {
    return kind === 'imei' ? this.#imeis : kind === 'application' ? this.#applications : undefined;
  }

  put(target: PurgeTarget, orderedAt: number): void {
    const [map, id] =
      target.kind === 'imei'
        ? [this.#imeis, target.body]
        : target.kind === 'application'
          ? [this.#applications, target.applicationId]
          : [undefined, ''];
    if (map !== undefined && (map.get(id) ?? -1) < orderedAt) map.set(id, orderedAt);
  }

  remove(kind: MarkKind, id: string): void {
    this.#mapOf(kind)?.delete(id);
  }

  /**
   * The IMEIs of a release decision written at `timestamp` (ms; unknown counts as before any
   * purge) that no later purge removed; null when the application itself was purged after it.
   */
  decisionBodies(
    applicationId: string,
    bodies: readonly string[],
    timestamp: number | undefined,
  ): readonly string[] | null {
    const written = timestamp ?? Number.NEGATIVE_INFINITY;
    const application = this.#applications.get(applicationId);
    if (application !== undefined && written <= application) return null;
    if (this.#imeis.size === 0) return bodies;
    return bodies.filter((body) => {
      const purged = this.#imeis.get(body);
      return purged === undefined || written > purged;
    });
  }
}
