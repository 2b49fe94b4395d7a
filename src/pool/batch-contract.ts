/**
 * The one contract between the main thread and the verify workers. The main thread does Kafka
 * I/O and nothing per message but copy bytes: a partition's batch travels to a worker as one
 * transferred buffer of raw messages, and comes back as one transferred buffer holding every
 * output message (bytes ready to produce) and every state change (bytes ready to store). That
 * second part is also the batch's journal record, as is: recovery publishes and applies from it
 * with the same code (`BatchOutputs`).
 *
 * Binary layouts, little-endian:
 *
 * task     = u32 headerLength · msgpack(TaskHeader) · u32 count · count × INPUT_ENTRY · bytes
 * result   = u32 headerLength · msgpack(ResultHeader) · outputs
 * outputs  = u32 outputCount · u32 opCount · outputCount × OUTPUT_ENTRY · opCount × OP_ENTRY · bytes
 *
 * The entries are field tables (INPUT_LAYOUT, OUTPUT_LAYOUT, OP_LAYOUT, src/pool/layout.ts); a
 * span's offset is relative to the start of the section's bytes.
 */
import { Packr } from 'msgpackr';
import type { WorkerConfig } from '../config/worker-settings.js';
import { entryLayout, NULL_LENGTH } from './layout.js';

export { NULL_LENGTH };

export const ENCODING_JSON = 0;
export const ENCODING_MSGPACK = 1;
export type EncodingFlag = typeof ENCODING_JSON | typeof ENCODING_MSGPACK;

/** Where an input message was read. */
export const INPUT_REQUEST = 0;
export const INPUT_FORWARDED = 1;
export const INPUT_COMMAND = 2;
export type InputKind = typeof INPUT_REQUEST | typeof INPUT_FORWARDED | typeof INPUT_COMMAND;

/**
 * Output roles: the topic an output goes to. The numbers are stored in journal records: never
 * renumber, only add.
 */
export const OUTPUT_ROLES = [
  'results',
  'confirmations',
  'dlq',
  'revocations',
  'pendingChangelog',
  'repartition',
] as const;
export type OutputRole = (typeof OUTPUT_ROLES)[number];
export const ROLE_RESULTS = 0;
export const ROLE_CONFIRMATIONS = 1;
export const ROLE_DLQ = 2;
export const ROLE_REVOCATIONS = 3;
export const ROLE_PENDING_CHANGELOG = 4;
export const ROLE_REPARTITION = 5;
/**
 * An output of an earlier journal format that is no longer published (format 1's registry
 * changelog): kept in a converted record so every output keeps the position it was written with.
 */
export const ROLE_RETIRED = 255;
export type RoleCode = 0 | 1 | 2 | 3 | 4 | 5 | typeof ROLE_RETIRED;

/** LMDB stores a batch writes; numbers are stored in journal records. */
export const STATE_DBS = ['outcomes', 'pending', 'registry', 'pendingByApplication'] as const;
export type StateDb = (typeof STATE_DBS)[number];
export const DB_OUTCOMES = 0;
export const DB_PENDING = 1;
export const DB_REGISTRY = 2;
/** dupSort: applicationId → IMEI bodies with a request waiting on that application. */
export const DB_PENDING_BY_APPLICATION = 3;
export type DbCode = 0 | 1 | 2 | 3;
export const OP_PUT = 0;
export const OP_REMOVE = 1;
export type OpCode = typeof OP_PUT | typeof OP_REMOVE;

export interface TaskHeader {
  readonly partition: number;
  /** Partitions of the requests topic: a device's partition is computed modulo this. */
  readonly partitions: number;
  /** Decision time (ms since epoch), fixed per batch so a batch is decided at one instant. */
  readonly now: number;
  /** Journaled batches (their `outputs` sections) whose state is to be stored first, in order. */
  readonly apply: readonly Uint8Array[];
  /** Re-evaluate waiting requests of these devices and applications (the index changed). */
  readonly dirtyBodies: readonly string[];
  readonly dirtyApplications: readonly string[];
  /** Re-evaluate every waiting request of the partition (after it was restored). */
  readonly sweep: boolean;
}

/**
 * Why the main thread refused a command (src/security/signed-events.ts SignatureProblem): the
 * worker sends it to the DLQ with its batch instead of carrying it out. Codes in the input entry:
 * the index here, 0 for none.
 */
export const INPUT_REFUSALS = [null, 'unsigned', 'bad-signature'] as const;
export type InputRefusal = NonNullable<(typeof INPUT_REFUSALS)[number]>;

/** An input message as the main thread hands it to a worker. */
export const INPUT_LAYOUT = entryLayout([
  ['kind', 'u8'],
  ['encoding', 'u8'],
  ['refusal', 'u16'],
  ['key', 'span'],
  ['value', 'span'],
  ['originPartition', 'u32'],
  ['offset', 'f64'],
  ['timestamp', 'f64'],
  ['originOffset', 'f64'],
]);
export const INPUT_ENTRY = INPUT_LAYOUT.size;

/**
 * An output message, in the worker's answer and in the journal (stored: only add fields in the
 * reserved or after the last, and bump JOURNAL_FORMAT). The origin fields are for forwarded
 * requests only; `tenant` for results only: the operator whose results topic it goes to
 * (src/pool/result-tenants.ts), 0 for the shared topic — what every record written before
 * operators had topics of their own holds.
 */
export const OUTPUT_LAYOUT = entryLayout([
  ['role', 'u8'],
  ['encoding', 'u8'],
  ['reserved', 'u16'],
  ['partition', 'u32'],
  ['key', 'span'],
  ['value', 'span'],
  ['originPartition', 'u32'],
  ['tenant', 'u32'],
  ['originOffset', 'f64'],
  ['originTimestamp', 'f64'],
]);
export const OUTPUT_ENTRY = OUTPUT_LAYOUT.size;

/** A state change, in the worker's answer and in the journal (stored, as outputs are). */
export const OP_LAYOUT = entryLayout([
  ['db', 'u8'],
  ['op', 'u8'],
  ['reserved', 'u16'],
  ['key', 'span'],
  ['value', 'span'],
]);
export const OP_ENTRY = OP_LAYOUT.size;

/** Per outcome and reason (`confirmed:kgd-release`, `rejected:luhn_mismatch`…), for metrics. */
export type OutcomeCounts = readonly (readonly [outcome: string, reason: string, count: number])[];

export interface ResultHeader {
  readonly counts: OutcomeCounts;
  /** Requests decided (not forwarded) by this batch, for the metrics. */
  readonly decided: number;
  readonly forwarded: number;
}

/** Headers are small and rare (one per batch): plain msgpack maps, no shared structures. */
const plain = new Packr({ useRecords: false });

export function packHeader(value: unknown): Uint8Array {
  return plain.pack(value);
}

export function unpackHeader<T>(bytes: Uint8Array): T {
  return plain.unpack(bytes) as T;
}

/** One raw input message, as the main thread hands it over. */
export interface InputMessage {
  readonly kind: InputKind;
  readonly encoding: EncodingFlag;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly offset: number;
  /** The Kafka timestamp: when the request was received (deadlines run from it). */
  readonly timestamp: number;
  /** For forwarded requests: where the request was first read. */
  readonly originPartition: number;
  readonly originOffset: number;
  /** A command that does not carry the cluster key's signature: why (absent: none). */
  readonly refusal?: InputRefusal;
}

const IN = INPUT_LAYOUT.at;

/** Encode a task into one buffer that owns its ArrayBuffer, so it can be transferred. */
export function encodeTask(header: TaskHeader, inputs: readonly InputMessage[]): Uint8Array {
  const head = packHeader(header);
  let bytes = 0;
  for (const m of inputs) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
  const indexStart = 4 + head.length + 4;
  const bytesStart = indexStart + inputs.length * INPUT_ENTRY;
  const buffer = new Uint8Array(bytesStart + bytes);
  const view = new DataView(buffer.buffer);
  view.setUint32(0, head.length, true);
  buffer.set(head, 4);
  view.setUint32(4 + head.length, inputs.length, true);
  let at = 0;
  for (let i = 0; i < inputs.length; i++) {
    const m = inputs[i]!;
    const e = indexStart + i * INPUT_ENTRY;
    view.setUint8(e + IN.kind, m.kind);
    view.setUint8(e + IN.encoding, m.encoding);
    view.setUint16(e + IN.refusal, m.refusal === undefined ? 0 : INPUT_REFUSALS.indexOf(m.refusal), true);
    at = writeBytes(buffer, view, bytesStart, at, e + IN.key, m.key);
    at = writeBytes(buffer, view, bytesStart, at, e + IN.value, m.value);
    view.setUint32(e + IN.originPartition, m.originPartition, true);
    view.setFloat64(e + IN.offset, m.offset, true);
    view.setFloat64(e + IN.timestamp, m.timestamp, true);
    view.setFloat64(e + IN.originOffset, m.originOffset, true);
  }
  return buffer;
}

function writeBytes(
  buffer: Uint8Array,
  view: DataView,
  bytesStart: number,
  at: number,
  entryField: number,
  value: Uint8Array | null,
): number {
  if (value === null) {
    view.setUint32(entryField, 0, true);
    view.setUint32(entryField + 4, NULL_LENGTH, true);
    return at;
  }
  buffer.set(value, bytesStart + at);
  view.setUint32(entryField, at, true);
  view.setUint32(entryField + 4, value.length, true);
  return at + value.length;
}

function refusalOf(code: number): InputRefusal {
  const refusal = INPUT_REFUSALS[code];
  if (refusal === null || refusal === undefined) throw new RangeError(`input refusal code ${code}`);
  return refusal;
}

/** The bytes a span field at `field` points to. */
function slice(buffer: Uint8Array, view: DataView, bytesStart: number, field: number): Uint8Array | null {
  const offset = view.getUint32(field, true);
  const length = view.getUint32(field + 4, true);
  if (length === NULL_LENGTH) return null;
  return buffer.subarray(bytesStart + offset, bytesStart + offset + length);
}

export interface DecodedTask {
  readonly header: TaskHeader;
  readonly inputs: InputMessage[];
}

export function decodeTask(buffer: Uint8Array): DecodedTask {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headLength = view.getUint32(0, true);
  const header = unpackHeader<TaskHeader>(buffer.subarray(4, 4 + headLength));
  const count = view.getUint32(4 + headLength, true);
  const indexStart = 8 + headLength;
  const bytesStart = indexStart + count * INPUT_ENTRY;
  const inputs: InputMessage[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const e = indexStart + i * INPUT_ENTRY;
    const input: InputMessage = {
      kind: view.getUint8(e + IN.kind) as InputKind,
      encoding: view.getUint8(e + IN.encoding) as EncodingFlag,
      key: slice(buffer, view, bytesStart, e + IN.key),
      value: slice(buffer, view, bytesStart, e + IN.value),
      originPartition: view.getUint32(e + IN.originPartition, true),
      offset: view.getFloat64(e + IN.offset, true),
      timestamp: view.getFloat64(e + IN.timestamp, true),
      originOffset: view.getFloat64(e + IN.originOffset, true),
    };
    // A refused command is rare: only then does the input carry the field.
    const refusal = view.getUint16(e + IN.refusal, true);
    inputs[i] = refusal === 0 ? input : { ...input, refusal: refusalOf(refusal) };
  }
  return { header, inputs };
}

/** A worker's answer: the header for the main thread, and the outputs section. */
export function encodeResult(header: ResultHeader, outputs: Uint8Array): Uint8Array {
  const head = packHeader(header);
  const buffer = new Uint8Array(4 + head.length + outputs.length);
  new DataView(buffer.buffer).setUint32(0, head.length, true);
  buffer.set(head, 4);
  buffer.set(outputs, 4 + head.length);
  return buffer;
}

export function decodeResult(buffer: Uint8Array): { header: ResultHeader; outputs: Uint8Array } {
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const headLength = view.getUint32(0, true);
  return {
    header: unpackHeader<ResultHeader>(buffer.subarray(4, 4 + headLength)),
    outputs: buffer.subarray(4 + headLength),
  };
}

/**
 * What a verify worker starts with (Piscina's workerData): the configuration the workers read,
 * derived from the settings' declarations (src/config/worker-settings.ts: every setting declared
 * as read by 'workers', in the configuration's own shape), and the store's key.
 */
export interface WorkerSettings {
  readonly config: WorkerConfig;
  readonly encryptionKey?: string;
}
