/**
 * The records that hold people's data, as the LMDB store keeps them (issue 22, point 3): a
 * registry entry, a final outcome, a device's waiting requests and the registry view's entries
 * keep the owner's IIN/BIN and the phone only sealed (src/store/personal-seal.ts), in a
 * `personal` field, with the clear fields null or absent. Read back, a record has them again — or,
 * once a purge destroyed its key, has them null and says `erased`.
 *
 * `*Of` make the stored form (sealing with a `Sealer`); `*From` read it back (with the store's
 * subject keys). The stores' encoders (`sealedEncoder`) read with those and refuse to write a
 * record whose personal fields are in clear, so no door can put one there by mistake.
 */
import type { Packr } from 'msgpackr';
import type {
  FinalDecision,
  OutcomeRecord,
  PendingEntry,
  RegistryEntry,
  VerifyRequest,
} from '../domain/types.js';
import { openPersonal, type Personal } from './personal-seal.js';
import type { Sealer } from './sealer.js';
import type { SubjectKeys } from './subject-keys.js';

/** The `personal` of a record whose key a purge destroyed, stored again (a waiting request kept). */
const ERASED = new Uint8Array(0);

type Sealed = Uint8Array | null;

export interface StoredRegistry extends Omit<RegistryEntry, 'ownerId' | 'msisdn' | 'erased'> {
  readonly ownerId: null;
  readonly msisdn: null;
  readonly personal: Sealed;
}

export interface StoredOutcome {
  readonly decision: FinalDecision;
  readonly source: OutcomeRecord['source'];
  readonly at: string;
  readonly personal: Sealed;
}

export type StoredRequest = Omit<VerifyRequest, 'ownerId' | 'msisdn'>;

export interface StoredPending extends Omit<PendingEntry, 'request' | 'erased'> {
  readonly request: StoredRequest;
  readonly personal: Sealed;
}

export interface StoredView {
  readonly order: number;
  readonly entry: StoredRegistry | null;
}

function sealedOf(
  sealer: Sealer,
  body: string,
  personal: Personal,
  at: string,
  erased: boolean | undefined,
): Sealed {
  return erased === true ? ERASED : sealer.seal(body, personal, at);
}

/** Opens a stored `personal`: the fields, or `erased` when they can no longer be read. */
function opened(personal: Sealed | undefined, keys: Pick<SubjectKeys, 'key'>): Personal & { erased?: true } {
  if (personal === null || personal === undefined) return { ownerId: null, msisdn: null };
  const fields = personal.length === 0 ? undefined : openPersonal(personal, keys);
  return fields ?? { ownerId: null, msisdn: null, erased: true };
}

// ── registry entries ─────────────────────────────────────────────────────────────────────

export function storedRegistryOf(entry: RegistryEntry, sealer: Sealer): StoredRegistry {
  const body = entry.imei.slice(0, 14);
  return {
    requestId: entry.requestId,
    partition: entry.partition,
    imei: entry.imei,
    ownerId: null,
    msisdn: null,
    evidence: entry.evidence,
    applicationId: entry.applicationId,
    procedure: entry.procedure,
    at: entry.at,
    operator: entry.operator,
    personal: sealedOf(sealer, body, entry, entry.at, entry.erased),
  };
}

export function registryFrom(stored: StoredRegistry, keys: Pick<SubjectKeys, 'key'>): RegistryEntry {
  const personal = opened(stored.personal, keys);
  return {
    requestId: stored.requestId,
    partition: stored.partition,
    imei: stored.imei,
    ownerId: personal.ownerId,
    msisdn: personal.msisdn,
    evidence: stored.evidence,
    applicationId: stored.applicationId,
    procedure: stored.procedure,
    at: stored.at,
    // Stored before schema 3 recorded it: unknown.
    operator: stored.operator ?? null,
    ...(personal.erased === true ? { erased: true as const } : {}),
  };
}

// ── final outcomes ───────────────────────────────────────────────────────────────────────

export function storedOutcomeOf(record: OutcomeRecord, sealer: Sealer): StoredOutcome {
  const d = record.decision;
  if (d.outcome !== 'confirmed' || (d.ownerId === null && d.msisdn === null && record.erased !== true))
    return { decision: d, source: record.source, at: record.at, personal: null };
  return {
    decision: { ...d, ownerId: null, msisdn: null },
    source: record.source,
    at: record.at,
    personal: sealedOf(sealer, d.body, d, record.at, record.erased),
  };
}

export function outcomeFrom(stored: StoredOutcome, keys: Pick<SubjectKeys, 'key'>): OutcomeRecord {
  const d = stored.decision;
  if (d.outcome !== 'confirmed' || stored.personal === null || stored.personal === undefined)
    return { decision: d, source: stored.source, at: stored.at };
  const personal = opened(stored.personal, keys);
  return {
    decision: { ...d, ownerId: personal.ownerId, msisdn: personal.msisdn },
    source: stored.source,
    at: stored.at,
    ...(personal.erased === true ? { erased: true as const } : {}),
  };
}

// ── waiting requests ─────────────────────────────────────────────────────────────────────

function storedRequestOf(request: VerifyRequest): StoredRequest {
  const { requestId, imei, operator, channel, applicationId, submittedAt } = request;
  return {
    requestId,
    imei,
    operator,
    channel,
    ...(applicationId === undefined ? {} : { applicationId }),
    ...(submittedAt === undefined ? {} : { submittedAt }),
  };
}

export function storedPendingOf(
  body: string,
  entries: readonly PendingEntry[],
  sealer: Sealer,
): StoredPending[] {
  return entries.map((e) => ({
    request: storedRequestOf(e.request),
    partition: e.partition,
    source: e.source,
    stage: e.stage,
    reason: e.reason,
    detail: e.detail,
    since: e.since,
    deadline: e.deadline,
    personal: sealedOf(
      sealer,
      body,
      { ownerId: e.request.ownerId ?? null, msisdn: e.request.msisdn ?? null },
      e.since,
      e.erased,
    ),
  }));
}

function requestFrom(stored: StoredRequest, personal: Personal): VerifyRequest {
  const { requestId, imei, operator, channel, applicationId, submittedAt } = stored;
  // The order VerifyRequest is written in, so a request encoded again keeps its shared shape.
  return {
    requestId,
    imei,
    operator,
    channel,
    ...(personal.ownerId === null ? {} : { ownerId: personal.ownerId }),
    ...(personal.msisdn === null ? {} : { msisdn: personal.msisdn }),
    ...(applicationId === undefined ? {} : { applicationId }),
    ...(submittedAt === undefined ? {} : { submittedAt }),
  };
}

export function pendingFrom(
  stored: readonly StoredPending[],
  keys: Pick<SubjectKeys, 'key'>,
): PendingEntry[] {
  return stored.map((s) => {
    const personal = opened(s.personal, keys);
    return {
      request: requestFrom(s.request, personal),
      partition: s.partition,
      source: s.source,
      stage: s.stage,
      reason: s.reason,
      detail: s.detail,
      since: s.since,
      deadline: s.deadline,
      ...(personal.erased === true ? { erased: true as const } : {}),
    };
  });
}

// ── the stores' encoders ─────────────────────────────────────────────────────────────────

export type SealedKind = 'registry' | 'outcome' | 'pending' | 'view';

/** Every door that writes these stores seals first. */
const REFUSE_CLEAR = true;

/** Whether a stored value holds a personal field in clear (refused: a door that forgot to seal). */
function inClear(kind: SealedKind, value: unknown): boolean {
  const v = value as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object') return false;
  switch (kind) {
    case 'registry':
      return v['ownerId'] != null || v['msisdn'] != null || !('personal' in v);
    case 'view':
      return v['entry'] != null && inClear('registry', v['entry']);
    case 'outcome': {
      const d = v['decision'] as Record<string, unknown> | undefined;
      return d?.['ownerId'] != null || d?.['msisdn'] != null;
    }
    case 'pending':
      return (
        !Array.isArray(v) ||
        v.some(
          (e: { request?: Record<string, unknown> }) =>
            e.request?.['ownerId'] != null || e.request?.['msisdn'] != null,
        )
      );
  }
}

function readBack(kind: SealedKind, value: unknown, keys: Pick<SubjectKeys, 'key'>): unknown {
  if (!hasSealedShape(kind, value)) return value;
  switch (kind) {
    case 'registry':
      return registryFrom(value as StoredRegistry, keys);
    case 'outcome':
      return outcomeFrom(value as StoredOutcome, keys);
    case 'pending':
      return pendingFrom(value as StoredPending[], keys);
    case 'view': {
      const view = value as StoredView;
      return { order: view.order, entry: view.entry === null ? null : registryFrom(view.entry, keys) };
    }
  }
}

/** Whether a value is in the stored form (a record of schema 1 is read as it is: clear). */
function hasSealedShape(kind: SealedKind, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  switch (kind) {
    case 'pending':
      return (
        Array.isArray(value) && value.every((e) => typeof e === 'object' && e !== null && 'personal' in e)
      );
    case 'view': {
      const entry = (value as { entry?: unknown }).entry;
      return entry === null || (typeof entry === 'object' && entry !== null && 'personal' in entry);
    }
    default:
      return 'personal' in value;
  }
}

/** An LMDB encoder for a store of sealed records: msgpack with the shared structures. */
export function sealedEncoder(kind: SealedKind, packr: Packr, keys: Pick<SubjectKeys, 'key'>) {
  return {
    encode(value: unknown): Buffer {
      if (REFUSE_CLEAR && inClear(kind, value))
        throw new Error(
          `a ${kind} record with an owner or phone in clear: seal it (src/store/sealed-records.ts)`,
        );
      // A copy: msgpackr returns a view of its reused buffer.
      return Buffer.from(packr.pack(value));
    },
    decode(bytes: Uint8Array, options?: number | { end?: number }): unknown {
      const end = typeof options === 'number' ? options : options?.end;
      return readBack(kind, packr.unpack(end === undefined ? bytes : bytes.subarray(0, end)), keys);
    },
  };
}
