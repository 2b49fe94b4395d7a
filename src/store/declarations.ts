/**
 * Writes to the declaration index: the same code serves the KGD monthly file and the
 * kgd.release.decisions topic, so both sources load into one index the same way.
 */
import { type DecisionFacts, isWithdrawal, latestOf } from '../domain/kgd-order.js';
import type { ApplicationRecord, DeclarationEntry } from '../domain/types.js';
import type { Store } from './store.js';

/** One application's decision over a set of IMEI bodies. */
export interface ApplicationDecision {
  readonly entry: DeclarationEntry;
  readonly bodies: readonly string[];
  /**
   * A refusal or revocation that names no IMEI: it concerns every IMEI the application lists,
   * now or later (`bodies` is ignored). The application record keeps it, so a release of an
   * earlier date that arrives after it cannot list a device back into force.
   */
  readonly whole?: boolean;
}

/** What a decision changed in the index. */
export interface AppliedDecision {
  /** Bodies the application now lists that it did not before. */
  readonly added: number;
  /** Bodies whose entry under this application changed: their owners look at them again. */
  readonly changed: readonly string[];
}

/**
 * Record KGD's decision in the index, in KGD's order (src/domain/kgd-order.ts): each listed
 * body's entry under the application, and the application's record, become the latest of what
 * they were and this decision. An older decision, or one seen before, changes nothing. Call
 * inside a write transaction (`store.env.transaction`), where reads see the transaction's own
 * writes.
 */
export function applyApplicationDecision(store: Store, decision: ApplicationDecision): AppliedDecision {
  const { entry } = decision;
  const previous = store.applications.get(entry.applicationId);
  const wide = decision.whole === true ? latestOf(previous?.wide, entry) : previous?.wide;
  const bodies =
    decision.whole === true ? [...store.applicationImeis.getValues(entry.applicationId)] : decision.bodies;
  // What each body's entry becomes at least: this decision, or a later withdrawal of the whole.
  const incoming = wide === undefined ? entry : latestOf(entry, wide);
  let added = 0;
  const changed: string[] = [];
  for (const body of bodies) {
    // Most IMEIs of a load are new: try the insert first, one B-tree walk instead of a read and
    // a write; merge with what is there only when it fails.
    if (insertIfAbsent(store, body, [incoming])) {
      indexWithdrawal(store, body, incoming);
      added++;
      changed.push(body);
      continue;
    }
    const existing = store.declarations.get(body) ?? [];
    const index = existing.findIndex((e) => e.applicationId === entry.applicationId);
    if (index === -1) {
      store.declarations.put(body, [...existing, incoming]);
      indexWithdrawal(store, body, incoming);
      added++;
      changed.push(body);
      continue;
    }
    const current = existing[index]!;
    const next = latestOf(current, incoming);
    if (next === current || sameEntry(current, next)) continue;
    const entries = existing.slice();
    entries[index] = next;
    store.declarations.put(body, entries);
    indexWithdrawal(store, body, next);
    changed.push(body);
  }
  if (decision.whole !== true)
    for (const body of bodies) store.applicationImeis.put(entry.applicationId, body);
  const record = applicationRecordOf(previous, entry, wide, added);
  if (previous === undefined || !sameApplication(previous, record))
    store.applications.put(entry.applicationId, record);
  return { added, changed };
}

/** Keep the withdrawals index (Store.withdrawals) in step with a body's entry under an application. */
function indexWithdrawal(store: Store, body: string, entry: DeclarationEntry): void {
  if (isWithdrawal(entry.status)) store.withdrawals.put(body, entry.applicationId);
  else store.withdrawals.remove(body, entry.applicationId);
}

/** The application's record after `entry`: the latest decision's facts, and the IMEIs it lists. */
function applicationRecordOf(
  previous: ApplicationRecord | undefined,
  entry: DeclarationEntry,
  wide: DeclarationEntry | undefined,
  added: number,
): ApplicationRecord {
  const latest = latestOf<DecisionFacts>(previous, entry);
  return {
    applicationId: entry.applicationId,
    procedure: latest.procedure,
    status: latest.status,
    imeiCount: (previous?.imeiCount ?? 0) + added,
    // The latest decision's own, as every other fact: merged with earlier ones, the record would
    // no longer be a decision, and comparing it with the next would depend on arrival order
    // (test/unit/kgd-order.test.ts found this).
    hsCode: latest.hsCode,
    decidedAt: latest.decidedAt,
    // Grounds belong to one decision: a later decision without them does not inherit them.
    ...(latest.grounds === undefined ? {} : { grounds: latest.grounds }),
    ...(wide === undefined ? {} : { wide }),
  };
}

/**
 * `putSync` with `noOverwrite` inside a write transaction reports whether it wrote; lmdb-js's
 * typings declare it void.
 */
function insertIfAbsent(store: Store, body: string, value: DeclarationEntry[]): boolean {
  const putSync = store.declarations.putSync as unknown as (
    key: string,
    value: DeclarationEntry[],
    options: { noOverwrite: boolean },
  ) => boolean;
  return putSync.call(store.declarations, body, value, { noOverwrite: true });
}

function sameEntry(a: DeclarationEntry, b: DeclarationEntry): boolean {
  return (
    a.procedure === b.procedure &&
    a.status === b.status &&
    a.hsCode === b.hsCode &&
    a.decidedAt === b.decidedAt &&
    a.grounds === b.grounds
  );
}

function sameApplication(a: ApplicationRecord, b: ApplicationRecord): boolean {
  return (
    a.procedure === b.procedure &&
    a.status === b.status &&
    a.imeiCount === b.imeiCount &&
    a.hsCode === b.hsCode &&
    a.decidedAt === b.decidedAt &&
    a.grounds === b.grounds &&
    a.wide === b.wide
  );
}

/**
 * Remove every declaration of the device `body` (a purge of the IMEI): each application that
 * listed it keeps its record, with one IMEI fewer. Call inside a write transaction. Returns the
 * entries removed.
 */
export function removeDeviceDeclarations(store: Store, body: string): number {
  const entries = store.declarations.get(body);
  if (entries === undefined) return 0;
  for (const entry of entries) {
    store.applicationImeis.remove(entry.applicationId, body);
    store.withdrawals.remove(body, entry.applicationId);
    const application = store.applications.get(entry.applicationId);
    if (application !== undefined)
      store.applications.put(entry.applicationId, {
        ...application,
        imeiCount: Math.max(0, application.imeiCount - 1),
      });
  }
  store.declarations.remove(body);
  return entries.length;
}

/**
 * Remove up to `chunk` of an application's declarations, and its record once none is left (its
 * retention ended, or a purge). Call inside a write transaction, again until `done`: an
 * application may list hundreds of thousands of IMEIs.
 */
export function removeApplicationStep(
  store: Store,
  applicationId: string,
  chunk: number,
): { removed: number; done: boolean } {
  const bodies: string[] = [];
  for (const body of store.applicationImeis.getValues(applicationId)) {
    bodies.push(body);
    if (bodies.length >= chunk) break;
  }
  let removed = 0;
  for (const body of bodies) {
    const entries = store.declarations.get(body) ?? [];
    const rest = entries.filter((e) => e.applicationId !== applicationId);
    if (rest.length < entries.length) removed++;
    store.withdrawals.remove(body, applicationId);
    if (rest.length === 0) store.declarations.remove(body);
    else if (rest.length < entries.length) store.declarations.put(body, rest);
    store.applicationImeis.remove(applicationId, body);
  }
  if (bodies.length >= chunk) return { removed, done: false };
  store.applications.remove(applicationId);
  return { removed, done: true };
}
