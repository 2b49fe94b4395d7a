/**
 * Writes to the declaration index: the same code serves the KGD monthly file and the
 * kgd.release.decisions topic, so both sources load into one index the same way.
 */
import type { ApplicationRecord, DeclarationEntry } from '../domain/types.js';
import type { Store } from './store.js';

/** One application's decision over a set of IMEI bodies. */
export interface ApplicationDecision {
  readonly entry: DeclarationEntry;
  readonly bodies: readonly string[];
}

/**
 * Record `entry` for each body, replacing what that application said before (idempotent), and
 * update the application record. Call inside a write transaction (`store.env.transaction`),
 * where reads see the transaction's own writes. Returns how many bodies were newly listed.
 */
export function applyApplicationDecision(store: Store, decision: ApplicationDecision): number {
  const { entry, bodies } = decision;
  let added = 0;
  for (const body of bodies) {
    // Most IMEIs of a load are new: try the insert first, one B-tree walk instead of a read and
    // a write; merge with what is there only when it fails.
    if (insertIfAbsent(store, body, [entry])) {
      added++;
      continue;
    }
    const existing = store.declarations.get(body) ?? [];
    const index = existing.findIndex((e) => e.applicationId === entry.applicationId);
    if (index === -1) {
      store.declarations.put(body, [...existing, entry]);
      added++;
    } else {
      const current = existing[index]!;
      if (sameEntry(current, entry)) continue;
      const next = existing.slice();
      next[index] = entry;
      store.declarations.put(body, next);
    }
  }
  for (const body of bodies) store.applicationImeis.put(entry.applicationId, body);
  const previous = store.applications.get(entry.applicationId);
  const record: ApplicationRecord = {
    applicationId: entry.applicationId,
    procedure: entry.procedure,
    status: entry.status,
    imeiCount: (previous?.imeiCount ?? 0) + added,
    hsCode: entry.hsCode ?? previous?.hsCode ?? null,
    decidedAt: entry.decidedAt ?? previous?.decidedAt ?? null,
    // Grounds belong to one decision: a later decision without them does not inherit them.
    ...(entry.grounds === undefined ? {} : { grounds: entry.grounds }),
  };
  if (previous === undefined || !sameApplication(previous, record))
    store.applications.put(entry.applicationId, record);
  return added;
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
    a.grounds === b.grounds
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
    if (rest.length === 0) store.declarations.remove(body);
    else if (rest.length < entries.length) store.declarations.put(body, rest);
    store.applicationImeis.remove(applicationId, body);
  }
  if (bodies.length >= chunk) return { removed, done: false };
  store.applications.remove(applicationId);
  return { removed, done: true };
}
