/**
 * Retention and destruction on request, the pure part: what a purge names, how it is recorded in
 * the audit trail (which is also how every instance learns of it), what a final outcome keeps
 * once its personal fields are no longer needed, and which records a purge reaches.
 *
 * The seeds give no term, only the principle: data received is destroyed once its purpose is met
 * (seed 000 §16), local copies at once (seed 001 §23), the rest with the material it belongs to
 * (seed 001 §24); requests, their results and the access log are kept (seed 001 §25, §31).
 */
import { isValidIinBin } from './ids.js';
import { normaliseImei } from './imei.js';
import type { FinalDecision, OutcomeRecord, PendingEntry, RegistryEntry } from './types.js';

export const DAY_MS = 86_400_000;

/** What the metric `imeiflow_retention_destroyed_total{kind}` counts. */
export const DESTROYED_KINDS = [
  /** A final outcome deleted. */
  'outcome',
  /** A final outcome's personal and customs fields removed (`reducedOutcome`). */
  'outcome_personal',
  /** One IMEI's declaration under one application. */
  'declaration',
  /** An application record. */
  'application',
  /** An entry of the online audit store (the archive is kept). */
  'audit',
  /** A registry entry (owner, phone, evidence) purged. */
  'registry',
  /** A waiting request purged. */
  'pending',
  /** A subject key destroyed by a purge: what it sealed of an owner and phone is unreadable. */
  'subject_key',
] as const;
export type DestroyedKind = (typeof DESTROYED_KINDS)[number];

/**
 * What a destruction on request names: a device, an owner, or a customs application. An owner is
 * named only by keyed pseudonyms of their IIN/BIN, one per cluster key listed
 * (src/store/pseudonyms.ts): the order is kept for good in the audit trail, and must not keep the
 * IIN it destroys.
 */
export type PurgeTarget =
  | { readonly kind: 'imei'; readonly body: string; readonly imei: string }
  | { readonly kind: 'iin'; readonly owners: readonly string[] }
  | { readonly kind: 'application'; readonly applicationId: string };

/** An owner's keyed pseudonyms, under every key listed (src/store/pseudonyms.ts `Pseudonyms.all`). */
export type PseudonymsOf = (ownerId: string) => readonly string[];

const PSEUDONYM = /^[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/;

/** `<key id>.<HMAC, base64url>`: the form of an owner's pseudonym. */
export function isPseudonym(text: string): boolean {
  return PSEUDONYM.test(text);
}

export type PurgeKind = PurgeTarget['kind'];
export const PURGE_KINDS: readonly PurgeKind[] = ['imei', 'iin', 'application'];

/** The audit action of a purge: the entry is the order every instance carries out. */
export const PURGE_ACTION_PREFIX = 'purge.';

const MAX_APPLICATION_ID = 128;

/** Check what a person asked to purge; the error says what is wrong, naming the field. */
export function purgeTargetOf(
  kind: PurgeKind,
  value: string,
  pseudonymsOf: PseudonymsOf,
): { ok: true; target: PurgeTarget } | { ok: false; error: string } {
  const text = value.trim();
  switch (kind) {
    case 'imei': {
      // Strict: a purge must name exactly one device, so no spare digit is accepted.
      const normalised = normaliseImei(text);
      if (!normalised.ok) return { ok: false, error: `imei: ${normalised.detail}` };
      return { ok: true, target: { kind, body: normalised.body, imei: normalised.imei } };
    }
    case 'iin':
      if (!isValidIinBin(text))
        return { ok: false, error: 'iin: must be a 12-digit IIN/BIN whose check digit holds' };
      return { ok: true, target: { kind, owners: pseudonymsOf(text) } };
    case 'application':
      if (text.length === 0 || text.length > MAX_APPLICATION_ID)
        return { ok: false, error: `application: must be 1–${MAX_APPLICATION_ID} characters` };
      return { ok: true, target: { kind, applicationId: text } };
  }
}

/** The audit entry's action and target for a purge. */
export function purgeAuditOf(target: PurgeTarget): { action: string; target: string } {
  return { action: PURGE_ACTION_PREFIX + target.kind, target: targetText(target) };
}

function targetText(target: PurgeTarget): string {
  switch (target.kind) {
    case 'imei':
      return target.imei;
    case 'iin':
      return target.owners.join(' ');
    case 'application':
      return target.applicationId;
  }
}

/**
 * The purge an audit entry records, or undefined when it records something else. An owner's
 * entry names pseudonyms; one written before owners were pseudonymous names the IIN, and is read
 * as its pseudonyms (the entry itself, on the audit topic, cannot be rewritten).
 */
export function purgeOfAudit(
  entry: { readonly action: string; readonly target: string | null },
  pseudonymsOf: PseudonymsOf,
): PurgeTarget | undefined {
  if (!entry.action.startsWith(PURGE_ACTION_PREFIX) || entry.target === null) return undefined;
  const kind = entry.action.slice(PURGE_ACTION_PREFIX.length);
  if (!(PURGE_KINDS as readonly string[]).includes(kind)) return undefined;
  if (kind === 'iin') {
    const owners = entry.target.split(' ');
    if (owners.length > 0 && owners.every(isPseudonym)) return { kind: 'iin', owners };
  }
  const parsed = purgeTargetOf(kind as PurgeKind, entry.target, pseudonymsOf);
  return parsed.ok ? parsed.target : undefined;
}

/**
 * What a purge destroys, in words, for the answer of `POST /v1/purge` and `imeiflow purge` (the
 * README's "Confidential data" says the same).
 */
export function purgeScope(target: PurgeTarget): string[] {
  switch (target.kind) {
    case 'imei':
      return [
        'the registry entry of the device (owner, phone, evidence), and its БДИК confirmation and revocation records on Kafka (tombstones; БДИК is not sent a revocation)',
        'its waiting requests (each answered rejected / purged)',
        'final outcomes naming the device, on every instance',
        'every customs declaration listing it, on every instance',
      ];
    case 'iin':
      return [
        'registry entries with this owner, and their БДИК confirmation and revocation records on Kafka (tombstones; БДИК is not sent a revocation)',
        'waiting requests naming this owner (each answered rejected / purged)',
        'final outcomes confirming a device to this owner, on every instance',
      ];
    case 'application':
      return [
        'the application and every declaration of an IMEI under it, on every instance; its release decisions left on kgd.release.decisions are ignored from now on and expire with the topic',
      ];
  }
}

// ── outcomes ──────────────────────────────────────────────────────────────────────────────

/**
 * A final outcome once its personal and customs fields are no longer needed: what rule 10 still
 * uses (requestId, outcome, reason or evidence, the device, where the request was read and when)
 * and nothing else. Keys keep their order, so the record keeps its stored msgpack shape.
 */
export function reducedOutcome(record: OutcomeRecord): OutcomeRecord {
  const decision = record.decision;
  let reduced: FinalDecision;
  if (decision.outcome === 'confirmed') {
    // notify false: a reduced record can never send БДИК a confirmation without its owner.
    reduced = {
      ...decision,
      applicationId: null,
      procedure: null,
      ownerId: null,
      msisdn: null,
      notify: false,
      detail: '',
    };
  } else {
    const { grounds: _grounds, ...rest } = decision;
    reduced = { ...rest, detail: '' };
  }
  return { decision: reduced, source: record.source, at: record.at };
}

/** Whether an outcome holds nothing `reducedOutcome` would remove. */
export function isReduced(record: OutcomeRecord): boolean {
  const d = record.decision;
  if (d.detail !== '') return false;
  if (d.outcome === 'confirmed')
    return (
      d.ownerId === null && d.msisdn === null && d.applicationId === null && d.procedure === null && !d.notify
    );
  return d.grounds === undefined;
}

// ── what a purge reaches ──────────────────────────────────────────────────────────────────

/**
 * Device purges in force, by IMEI body, with the time each was ordered (ms). A purge destroys
 * only what was recorded at or before that time: a device registered again afterwards, or a
 * request received afterwards, is new data and not the purge's.
 *
 * An owner's purge needs no mark here: it destroys the keys that sealed the owner's data on every
 * instance (src/store/subject-keys.ts), and what they sealed reads back `erased`. So does a
 * device's, for the owner and phone of its records.
 */
export interface PurgeMarks {
  readonly imeis: ReadonlyMap<string, number>;
}

function covered(marks: ReadonlyMap<string, number>, key: string | null, at: string): boolean {
  if (key === null) return false;
  const ordered = marks.get(key);
  return ordered !== undefined && Date.parse(at) <= ordered;
}

/** An outcome a purge destroys: its owner's data was, or it names the device. */
export function outcomePurged(record: OutcomeRecord, marks: PurgeMarks): boolean {
  return record.erased === true || covered(marks.imeis, record.decision.body, record.at);
}

/** A registry entry a purge destroys: its owner's data was, or the device's. */
export function registryPurged(body: string, entry: RegistryEntry, marks: PurgeMarks): boolean {
  return entry.erased === true || covered(marks.imeis, body, entry.at);
}

/** A waiting request a purge destroys: its owner's data was, or it is for the device; received before. */
export function pendingPurged(body: string, entry: PendingEntry, marks: PurgeMarks): boolean {
  return entry.erased === true || covered(marks.imeis, body, entry.since);
}
