/**
 * The journal: imeiflow's exactly-once commit point, one record per processed batch in
 * partition N of the journal topic (compacted; keys cycle through JOURNAL_WINDOW values, so the
 * newest records of each partition are kept and older ones compacted away).
 *
 * A record holds the input positions after its batch, the forwarded-request positions seen per
 * source partition (to drop a forward sent twice), and the batch's outputs section exactly as
 * the worker built it: every output message's bytes and every state change
 * (src/pool/batch-contract.ts). Appending it is atomic (one message), so a batch is wholly
 * decided or not at all. Its outputs are then published with a header `imeiflow-pos:
 * <seq>.<idx>`; whoever owns the partition next reads the last records, stores their state
 * again (idempotent), publishes exactly the outputs missing after the last position found in
 * each output partition, and consumes from the recorded positions. Kafka transactions are not
 * needed: the embedded cluster does not implement them, and the journal works the same on a
 * real cluster.
 *
 * Records carry a format number. Format 1 (earlier builds: the output messages and outcomes as a
 * msgpack record) is still read and converted; a format this build does not know is refused
 * with the record's position instead of being skipped. A service seals each record whole under
 * the topic key (src/store/topic-seal.ts); an unsealed one (an earlier build) is still read.
 */
import { Packr } from 'msgpackr';
import type { OutcomeRecord } from '../domain/types.js';
import {
  DB_OUTCOMES,
  DB_PENDING,
  DB_REGISTRY,
  ENCODING_JSON,
  OP_PUT,
  OP_REMOVE,
  ROLE_RETIRED,
  type RoleCode,
} from '../pool/batch-contract.js';
import {
  BatchOutputs,
  encodeOutputs,
  jsonOutput,
  type OutputMessage,
  type StateOp,
} from '../pool/outputs-section.js';
import { encodeStored } from '../store/state-codec.js';
import { structuredEncoderOptions } from '../store/structures.js';
import { installedTopicSeal, openFromTopic, SealError } from '../store/topic-seal.js';
import { isAfter, type OutputPosition } from './positions.js';

export const JOURNAL_FORMAT = 2;

export interface InputPositions {
  /** Next offset to consume from the requests topic partition. */
  readonly requests: number;
  /** Next offset to consume from the repartition topic partition. */
  readonly repartition: number;
  /** Next offset to consume from the commands topic partition. */
  readonly commands: number;
}

export const NO_POSITIONS: InputPositions = { requests: 0, repartition: 0, commands: 0 };

export interface JournalRecord {
  readonly format: number;
  readonly seq: number;
  readonly partition: number;
  readonly inputs: InputPositions;
  /** Per source partition, the origin offset of the last forwarded request taken (-1: none). */
  readonly forwarded: readonly number[];
  readonly at: string;
  readonly outputs: BatchOutputs;
}

/** The record as written: everything but the outputs, which follow as bytes. */
interface Envelope {
  readonly format: number;
  readonly seq: number;
  readonly partition: number;
  readonly inputs: InputPositions;
  readonly forwarded: readonly number[];
  readonly at: string;
  readonly outputs: Uint8Array;
}

export function encodeJournal(
  record: Omit<JournalRecord, 'format' | 'outputs'>,
  outputs: Uint8Array,
): Buffer {
  const envelope: Envelope = { format: JOURNAL_FORMAT, ...record, outputs };
  const packed = plain.pack(envelope);
  // Sealed whole (issue 22, point 3): the outputs hold owners and phones. Otherwise a copy:
  // msgpackr reuses its buffer, and librdkafka reads the value asynchronously.
  const seal = installedTopicSeal();
  return seal === undefined ? Buffer.from(packed) : seal.seal('journal', packed);
}

/**
 * Plain msgpack maps, no record extension: a reader with the shared structures (which reads
 * format 1) must not take a record id of this writer for one of its own.
 */
const plain = new Packr({ useRecords: false });

/**
 * A journal value this build cannot read. `newer`: a record of a later format (a newer imeiflow
 * wrote it), which recovery must not skip; otherwise not a record imeiflow writes at all.
 */
export class JournalFormatError extends Error {
  readonly newer: boolean;
  constructor(message: string, newer = false) {
    super(message);
    this.newer = newer;
  }
}

/**
 * Each format with its own decoder: format 1's records use the shared structures, whose record
 * ids are the bytes 0x40–0x7f — which plain msgpack uses for the integers 64–127. Read with the
 * structured decoder, a format 2 record holding such a number (a seq, an offset) was misread.
 */
const plainReader = new Packr({ useRecords: false, mapsAsObjects: true });
const structured = new Packr({ ...structuredEncoderOptions(), useRecords: true, mapsAsObjects: true });

function isMap(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** Decode a journal record; throws JournalFormatError (with the reason) when it is not one this build reads. */
export function decodeJournal(sealedOrPlain: Uint8Array): JournalRecord {
  let value: Uint8Array;
  try {
    value = openFromTopic('journal', sealedOrPlain);
  } catch (error) {
    if (!(error instanceof SealError)) throw error;
    // Imeiflow's record, but not readable here (another cluster key): recovery must stop on it
    // rather than skip a batch it cannot see.
    throw new JournalFormatError(`sealed: ${error.message}`, true);
  }
  let plainRecord: unknown;
  try {
    plainRecord = plainReader.unpack(value);
  } catch {
    // not plain msgpack: format 1, or not a record at all
  }
  // Format 2 and later are plain maps with a format number; format 1 has none.
  if (isMap(plainRecord) && typeof plainRecord['format'] === 'number') {
    if (plainRecord['format'] === JOURNAL_FORMAT) return fromEnvelope(plainRecord as unknown as Envelope);
    throw new JournalFormatError(
      `record format ${plainRecord['format']}; this imeiflow reads formats 1 and ${JOURNAL_FORMAT}`,
      plainRecord['format'] > JOURNAL_FORMAT,
    );
  }
  let decoded: unknown;
  try {
    decoded = structured.unpack(value);
  } catch (error) {
    throw new JournalFormatError(`not msgpack: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof decoded !== 'object' || decoded === null) throw new JournalFormatError('not a journal record');
  const record = decoded as Record<string, unknown>;
  if (record['format'] === undefined && Array.isArray(record['outputs']) && Array.isArray(record['outcomes']))
    return fromFormat1(record as unknown as Format1Record);
  throw new JournalFormatError(
    `record format ${String(record['format'] ?? 'unknown')}; this imeiflow reads formats 1 and ${JOURNAL_FORMAT}`,
  );
}

function fromEnvelope(envelope: Envelope): JournalRecord {
  if (!(envelope.outputs instanceof Uint8Array) || typeof envelope.seq !== 'number')
    throw new JournalFormatError('a format 2 record without its outputs');
  try {
    return { ...envelope, outputs: new BatchOutputs(envelope.outputs) };
  } catch (error) {
    throw new JournalFormatError(`outputs: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Format 1, written by builds before the outputs section existed. */
interface Format1Record {
  readonly seq: number;
  readonly partition: number;
  readonly inputs: { readonly requests: number; readonly commands: number };
  readonly outputs: readonly (readonly [role: number, key: string | null, value: Uint8Array | null])[];
  readonly outcomes: readonly (readonly [string, Uint8Array | OutcomeRecord])[];
  readonly at: string;
}

/** Format 1's roles 0–4 are format 2's; role 5 was the registry changelog, now a state change. */
const RETIRED_OUTPUT: OutputMessage = {
  role: ROLE_RETIRED,
  partition: 0,
  key: null,
  value: null,
  encoding: ENCODING_JSON,
  originPartition: 0,
  originOffset: 0,
  originTimestamp: 0,
  tenant: 0,
};
const FORMAT1_REGISTRY_CHANGELOG = 5;
const FORMAT1_PENDING_CHANGELOG = 4;

function fromFormat1(record: Format1Record): JournalRecord {
  const outputs: OutputMessage[] = [];
  const ops: StateOp[] = [];
  const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
  for (const [role, key, value] of record.outputs) {
    if (role === FORMAT1_REGISTRY_CHANGELOG) {
      if (key === null || !key.startsWith('r/')) continue;
      const body = utf8(key.slice(2));
      ops.push(
        value === null
          ? { db: DB_REGISTRY, op: OP_REMOVE, key: body, value: null }
          : { db: DB_REGISTRY, op: OP_PUT, key: body, value },
      );
      outputs.push({ ...RETIRED_OUTPUT });
      continue;
    }
    outputs.push(jsonOutput(role as RoleCode, record.partition, key, value));
    // Format 1 pending changelog values are the stored entries themselves (changelog format 0).
    if (role === FORMAT1_PENDING_CHANGELOG && key !== null && key.startsWith('p/')) {
      const body = utf8(key.slice(2));
      ops.push(
        value === null
          ? { db: DB_PENDING, op: OP_REMOVE, key: body, value: null }
          : { db: DB_PENDING, op: OP_PUT, key: body, value },
      );
    }
  }
  for (const [requestId, outcome] of record.outcomes) {
    ops.push({
      db: DB_OUTCOMES,
      op: OP_PUT,
      key: utf8(requestId),
      value: outcome instanceof Uint8Array ? outcome : encodeStored(outcome),
    });
  }
  return {
    format: 1,
    seq: record.seq,
    partition: record.partition,
    inputs: { requests: record.inputs.requests, repartition: 0, commands: record.inputs.commands },
    forwarded: [],
    at: record.at,
    outputs: new BatchOutputs(encodeOutputs(outputs, ops)),
  };
}

/**
 * How many journal records of a partition may be unpublished at once. A batch is decided and
 * journaled while the previous one is still being published; recovery reads this many records.
 */
export const JOURNAL_WINDOW = 2;

export function journalKey(partition: number, seq: number): string {
  return `p${partition}.${seq % JOURNAL_WINDOW}`;
}

/**
 * Of a record's outputs, those not yet in their output partition. `tailOf(idx)` is the position
 * the last message of that output's partition carries (BEFORE_ANY_OUTPUT: none, so every output
 * is missing), or null for an output never published again. Outputs reach each partition in
 * order, so everything after its last message is missing.
 */
export function missingOutputs(
  record: JournalRecord,
  tailOf: (idx: number) => OutputPosition | null,
): number[] {
  const missing: number[] = [];
  for (let idx = 0; idx < record.outputs.outputCount; idx++) {
    const tail = tailOf(idx);
    if (tail !== null && isAfter({ seq: record.seq, idx }, tail)) missing.push(idx);
  }
  return missing;
}
