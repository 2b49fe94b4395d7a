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
 * Offsets inside entries are relative to the start of the section's bytes.
 */
import { Packr } from 'msgpackr';
import type { DeadlineSettings } from '../domain/deadline.js';
import type { RuleConfig } from '../domain/rules.js';

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

/** A null key or value (a tombstone) is stored as this length. */
export const NULL_LENGTH = 0xffffffff;

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
 * Input entry: kind u8 · encoding u8 · u16 0 · u32 keyOffset · u32 keyLength · u32 valueOffset ·
 * u32 valueLength · u32 originPartition · f64 offset · f64 timestamp · f64 originOffset
 */
export const INPUT_ENTRY = 48;

/**
 * Output entry: role u8 · encoding u8 · u16 0 · u32 partition · u32 keyOffset · u32 keyLength ·
 * u32 valueOffset · u32 valueLength · u32 originPartition · u32 0 · f64 originOffset ·
 * f64 originTimestamp (the last three for forwarded requests only)
 */
export const OUTPUT_ENTRY = 48;

/** State op entry: db u8 · op u8 · u16 0 · u32 keyOffset · u32 keyLength · u32 valueOffset · u32 valueLength */
export const OP_ENTRY = 20;

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
}

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
    view.setUint8(e, m.kind);
    view.setUint8(e + 1, m.encoding);
    at = writeBytes(buffer, view, bytesStart, at, e + 4, m.key);
    at = writeBytes(buffer, view, bytesStart, at, e + 12, m.value);
    view.setUint32(e + 20, m.originPartition, true);
    view.setFloat64(e + 24, m.offset, true);
    view.setFloat64(e + 32, m.timestamp, true);
    view.setFloat64(e + 40, m.originOffset, true);
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

function slice(buffer: Uint8Array, bytesStart: number, offset: number, length: number): Uint8Array | null {
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
    inputs[i] = {
      kind: view.getUint8(e) as InputKind,
      encoding: view.getUint8(e + 1) as EncodingFlag,
      key: slice(buffer, bytesStart, view.getUint32(e + 4, true), view.getUint32(e + 8, true)),
      value: slice(buffer, bytesStart, view.getUint32(e + 12, true), view.getUint32(e + 16, true)),
      originPartition: view.getUint32(e + 20, true),
      offset: view.getFloat64(e + 24, true),
      timestamp: view.getFloat64(e + 32, true),
      originOffset: view.getFloat64(e + 40, true),
    };
  }
  return { header, inputs };
}

/** An output message as a batch produces it. */
export interface OutputMessage {
  readonly role: RoleCode;
  readonly partition: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  /** Forwarded requests keep their encoding, origin and receipt time. */
  readonly encoding: EncodingFlag;
  readonly originPartition: number;
  readonly originOffset: number;
  readonly originTimestamp: number;
}

/** An output imeiflow writes itself (not a forwarded request): JSON, with no origin. */
export function jsonOutput(
  role: RoleCode,
  partition: number,
  key: string | null,
  value: Uint8Array | null,
): OutputMessage {
  return {
    role,
    partition,
    key: key === null ? null : Buffer.from(key, 'utf8'),
    value,
    encoding: ENCODING_JSON,
    originPartition: 0,
    originOffset: 0,
    originTimestamp: 0,
  };
}

export interface StateOp {
  readonly db: DbCode;
  readonly op: OpCode;
  readonly key: Uint8Array;
  /** Already in the store's encoding (msgpack with the shared structures), or a dupSort value. */
  readonly value: Uint8Array | null;
}

/** Lay a batch's outputs and state changes out as one `outputs` section. */
export function encodeOutputs(outputs: readonly OutputMessage[], ops: readonly StateOp[]): Uint8Array {
  const builder = new OutputsBuilder();
  for (const o of outputs) {
    builder.output(
      o.role,
      o.partition,
      o.key,
      o.value,
      o.encoding,
      o.originPartition,
      o.originOffset,
      o.originTimestamp,
    );
  }
  for (const o of ops) builder.op(o.db, o.op, o.key, o.value);
  return builder.finish();
}

/** Bytes of an output or a state change: given as they are, or a string written as UTF-8. */
export type SectionBytes = Uint8Array | string | null;

/**
 * Builds an `outputs` section as a batch is decided: each output and state change is written
 * into the section's growing buffers when it is made, so a batch holds no object per output and
 * copies no value twice (a JSON string goes straight in as UTF-8; a msgpack value is copied out
 * of the encoder's scratch buffer once). Outputs and state changes keep the order they came in.
 */
export class OutputsBuilder {
  readonly #outputs = new EntryTable(OUTPUT_ENTRY);
  readonly #ops = new EntryTable(OP_ENTRY);
  #bytes = Buffer.allocUnsafe(64 * 1024);
  #at = 0;

  output(
    role: RoleCode,
    partition: number,
    key: SectionBytes,
    value: SectionBytes,
    encoding: EncodingFlag = ENCODING_JSON,
    originPartition = 0,
    originOffset = 0,
    originTimestamp = 0,
  ): void {
    const e = this.#outputs.add();
    const view = this.#outputs.view;
    view.setUint8(e, role);
    view.setUint8(e + 1, encoding);
    view.setUint32(e + 4, partition, true);
    this.#write(view, e + 8, key);
    this.#write(view, e + 16, value);
    view.setUint32(e + 24, originPartition, true);
    view.setFloat64(e + 32, originOffset, true);
    view.setFloat64(e + 40, originTimestamp, true);
  }

  op(db: DbCode, op: OpCode, key: Uint8Array | string, value: SectionBytes): void {
    const e = this.#ops.add();
    const view = this.#ops.view;
    view.setUint8(e, db);
    view.setUint8(e + 1, op);
    this.#write(view, e + 4, key);
    this.#write(view, e + 12, value);
  }

  /** Write bytes and their (offset, length) into an entry's field. */
  #write(entry: DataView, field: number, value: SectionBytes): void {
    if (value === null) {
      entry.setUint32(field, 0, true);
      entry.setUint32(field + 4, NULL_LENGTH, true);
      return;
    }
    const at = this.#at;
    let length: number;
    if (typeof value === 'string') {
      // A UTF-16 code unit is at most 3 bytes of UTF-8.
      this.#reserve(value.length * 3);
      length = this.#bytes.write(value, at, 'utf8');
    } else {
      this.#reserve(value.length);
      this.#bytes.set(value, at);
      length = value.length;
    }
    entry.setUint32(field, at, true);
    entry.setUint32(field + 4, length, true);
    this.#at = at + length;
  }

  #reserve(bytes: number): void {
    if (this.#at + bytes <= this.#bytes.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#at + bytes));
    next.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = next;
  }

  /** The section: counts, output entries, state-change entries, bytes. */
  finish(): Uint8Array {
    const outputs = this.#outputs.written;
    const ops = this.#ops.written;
    const buffer = new Uint8Array(8 + outputs.length + ops.length + this.#at);
    const view = new DataView(buffer.buffer);
    view.setUint32(0, this.#outputs.count, true);
    view.setUint32(4, this.#ops.count, true);
    buffer.set(outputs, 8);
    buffer.set(ops, 8 + outputs.length);
    buffer.set(this.#bytes.subarray(0, this.#at), 8 + outputs.length + ops.length);
    return buffer;
  }
}

/** Fixed-size entries written one after another into a buffer that grows as needed. */
class EntryTable {
  readonly #entrySize: number;
  #buffer: Uint8Array;
  view: DataView;
  count = 0;

  constructor(entrySize: number) {
    this.#entrySize = entrySize;
    this.#buffer = new Uint8Array(entrySize * 256);
    this.view = new DataView(this.#buffer.buffer);
  }

  /** Room for one more entry; its offset in `view`. */
  add(): number {
    const e = this.count * this.#entrySize;
    if (e + this.#entrySize > this.#buffer.length) {
      const next = new Uint8Array(this.#buffer.length * 2);
      next.set(this.#buffer);
      this.#buffer = next;
      this.view = new DataView(next.buffer);
    }
    this.count++;
    return e;
  }

  get written(): Uint8Array {
    return this.#buffer.subarray(0, this.count * this.#entrySize);
  }
}

/** Reads an `outputs` section without copying: from a worker's result or a journal record. */
export class BatchOutputs {
  readonly #buffer: Uint8Array;
  readonly #view: DataView;
  /** The section as a Buffer, to read text out of it. */
  readonly #text: Buffer;
  readonly outputCount: number;
  readonly opCount: number;
  readonly #opsStart: number;
  readonly #bytesStart: number;

  constructor(buffer: Uint8Array) {
    this.#buffer = buffer;
    this.#view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.#text = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.outputCount = this.#view.getUint32(0, true);
    this.opCount = this.#view.getUint32(4, true);
    this.#opsStart = 8 + this.outputCount * OUTPUT_ENTRY;
    this.#bytesStart = this.#opsStart + this.opCount * OP_ENTRY;
    if (this.#bytesStart > buffer.length) throw new RangeError('truncated batch outputs');
  }

  get bytes(): Uint8Array {
    return this.#buffer;
  }

  role(i: number): RoleCode {
    return this.#view.getUint8(8 + i * OUTPUT_ENTRY) as RoleCode;
  }

  partition(i: number): number {
    return this.#view.getUint32(8 + i * OUTPUT_ENTRY + 4, true);
  }

  key(i: number): Buffer | null {
    const e = 8 + i * OUTPUT_ENTRY;
    return this.#bufferAt(this.#view.getUint32(e + 8, true), this.#view.getUint32(e + 12, true));
  }

  value(i: number): Buffer | null {
    const e = 8 + i * OUTPUT_ENTRY;
    return this.#bufferAt(this.#view.getUint32(e + 16, true), this.#view.getUint32(e + 20, true));
  }

  output(i: number): OutputMessage {
    const e = 8 + i * OUTPUT_ENTRY;
    return {
      role: this.role(i),
      partition: this.partition(i),
      key: this.key(i),
      value: this.value(i),
      encoding: this.#view.getUint8(e + 1) as EncodingFlag,
      originPartition: this.#view.getUint32(e + 24, true),
      originOffset: this.#view.getFloat64(e + 32, true),
      originTimestamp: this.#view.getFloat64(e + 40, true),
    };
  }

  op(i: number): StateOp {
    const e = this.#opsStart + i * OP_ENTRY;
    return {
      db: this.opDb(i),
      op: this.opCode(i),
      key: this.#bufferAt(this.#view.getUint32(e + 4, true), this.#view.getUint32(e + 8, true))!,
      value: this.opValue(i),
    };
  }

  opDb(i: number): DbCode {
    return this.#view.getUint8(this.#opsStart + i * OP_ENTRY) as DbCode;
  }

  opCode(i: number): OpCode {
    return this.#view.getUint8(this.#opsStart + i * OP_ENTRY + 1) as OpCode;
  }

  opValue(i: number): Buffer | null {
    const e = this.#opsStart + i * OP_ENTRY;
    return this.#bufferAt(this.#view.getUint32(e + 12, true), this.#view.getUint32(e + 16, true));
  }

  /** A state change's key as text (every store's keys are strings), with no Buffer between. */
  opKeyText(i: number): string {
    const e = this.#opsStart + i * OP_ENTRY;
    const start = this.#bytesStart + this.#view.getUint32(e + 4, true);
    return this.#text.toString('utf8', start, start + this.#view.getUint32(e + 8, true));
  }

  #bufferAt(offset: number, length: number): Buffer | null {
    if (length === NULL_LENGTH) return null;
    const start = this.#buffer.byteOffset + this.#bytesStart + offset;
    return Buffer.from(this.#buffer.buffer, start, length);
  }
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

export interface WorkerSettings {
  readonly dataDir: string;
  readonly encryptionKey?: string;
  /** Config `rules`, as configured: what the decision rules read. */
  readonly rules: RuleConfig;
  readonly maxMessageBytes: number;
  /** Topic names for DLQ entries (where a bad message was read). */
  readonly requestsTopic: string;
  readonly repartitionTopic: string;
  readonly commandsTopic: string;
  /** The deadline policy with its calendar resolved (src/config/config.ts `deadlineSettings`). */
  readonly deadlines: DeadlineSettings;
}
