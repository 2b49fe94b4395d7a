/**
 * How partition-local state is encoded, in LMDB and on the pending changelog topic.
 *
 * LMDB values are msgpack with the shared structures (src/store/structures.ts): encoded once by
 * whoever decides the batch and stored as is (`storedAsIs`). Changelog records carry a format
 * version, so a record written by a later version (or corrupted) is refused with its position
 * instead of being misread or skipped: `[CHANGELOG_FORMAT, entries]`. Records written before the
 * version existed (format 0) are the bare entries array and still restore.
 */
import type { OutcomeRecord, PendingEntry, RegistryEntry } from '../domain/types.js';
import { structuredPackr } from './structures.js';
import { installedTopicSeal, isSealed, SealError, type TopicSeal } from './topic-seal.js';

const packr = structuredPackr();

/** The pending changelog's record format. */
export const CHANGELOG_FORMAT = 1;

type StoredValue = OutcomeRecord | RegistryEntry | readonly PendingEntry[];

export function encodeStored(value: StoredValue): Uint8Array {
  // A copy: msgpackr returns a view of its reused scratch buffer.
  return new Uint8Array(packStored(value));
}

/** As `encodeStored`, without the copy: the bytes are valid only until the next encoding. */
export function packStored(value: StoredValue): Uint8Array {
  return packr.pack(value);
}

export function decodeStored<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

/**
 * A device's waiting requests as a changelog value; null (a tombstone) when none wait. Sealed under
 * the topic key (src/store/topic-seal.ts; by default this thread's): the record holds the owners
 * and phones.
 */
export function encodePendingRecord(
  entries: readonly PendingEntry[],
  seal: TopicSeal | undefined = installedTopicSeal(),
): Uint8Array | null {
  if (entries.length === 0) return null;
  const packed = packr.pack([CHANGELOG_FORMAT, entries]);
  return seal === undefined ? new Uint8Array(packed) : seal.seal('pendingChangelog', packed);
}

/**
 * A changelog value this build cannot read. `newer`: a well-formed record of a later format (a
 * newer imeiflow wrote it), which must not be skipped; otherwise it is not a record imeiflow
 * writes at all, and is passed (issue 20: nothing on an internal topic stops an instance).
 */
export class ChangelogFormatError extends Error {
  readonly newer: boolean;
  constructor(message: string, newer = false) {
    super(message);
    this.newer = newer;
  }
}

/**
 * A pending changelog value back to entries; throws ChangelogFormatError when it is not one. A
 * sealed record is opened with `seal` (one written before sealing is read as it is).
 */
export function decodePendingRecord(
  value: Uint8Array,
  seal: TopicSeal | undefined = installedTopicSeal(),
): PendingEntry[] {
  let decoded: unknown;
  try {
    if (isSealed(value) && seal === undefined) throw new SealError('sealed, and no topic key to open it');
    decoded = packr.unpack(seal === undefined ? value : seal.openIfSealed('pendingChangelog', value));
  } catch (error) {
    if (error instanceof SealError) throw new ChangelogFormatError(`sealed: ${error.message}`);
    throw new ChangelogFormatError(`not msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(decoded)) throw new ChangelogFormatError('not a pending changelog record');
  if (typeof decoded[0] === 'number') {
    if (decoded[0] !== CHANGELOG_FORMAT || !Array.isArray(decoded[1])) {
      throw new ChangelogFormatError(
        `record format ${decoded[0]}; this imeiflow reads formats 0 and ${CHANGELOG_FORMAT}`,
        decoded[0] > CHANGELOG_FORMAT && Array.isArray(decoded[1]),
      );
    }
    return checkedEntries(decoded[1]);
  }
  // Format 0: the entries themselves.
  return checkedEntries(decoded);
}

const isString = (value: unknown) => typeof value === 'string';
type FieldChecks = Readonly<Record<string, (value: unknown) => boolean>>;
/**
 * What each field of a waiting request's entry is when imeiflow writes it. A field that is there
 * must be that: one of another type (an owner that is a number) made every instance's review
 * table throw on the record, and throw again after each restart.
 */
const ENTRY_FIELDS: FieldChecks = {
  partition: (value) => Number.isInteger(value) && (value as number) >= 0,
  source: isString,
  reason: isString,
  detail: isString,
  since: isString,
  deadline: isString,
  erased: (value) => value === true,
};
const REQUEST_FIELDS: FieldChecks = {
  imei: isString,
  operator: isString,
  channel: isString,
  ownerId: isString,
  msisdn: isString,
  applicationId: isString,
  submittedAt: isString,
};

/** The first field of `object` that is there and is not what `fields` says, or undefined. */
function mistyped(object: Record<string, unknown>, fields: FieldChecks): string | undefined {
  for (const [name, check] of Object.entries(fields)) {
    const value = object[name];
    if (value !== undefined && value !== null && !check(value)) return name;
  }
  return undefined;
}

function checkedEntries(entries: unknown[]): PendingEntry[] {
  for (const e of entries) {
    const entry = e as Partial<PendingEntry> | null;
    if (
      typeof entry !== 'object' ||
      entry === null ||
      typeof entry.request?.requestId !== 'string' ||
      (entry.stage !== 'awaiting_kgd' && entry.stage !== 'review')
    ) {
      throw new ChangelogFormatError('an entry is not a waiting request');
    }
    const field =
      mistyped(entry as Record<string, unknown>, ENTRY_FIELDS) ??
      mistyped(entry.request as unknown as Record<string, unknown>, REQUEST_FIELDS);
    if (field !== undefined) {
      throw new ChangelogFormatError(
        `waiting request ${entry.request.requestId}: ${field} is not what imeiflow writes`,
      );
    }
  }
  return entries as PendingEntry[];
}
