/**
 * A batch's `outputs` section (batch-contract.ts gives its layout): built by a worker as it
 * decides (`OutputsBuilder`), read without copying by the main thread and by recovery from a
 * journal record (`BatchOutputs`).
 */
import {
  type DbCode,
  ENCODING_JSON,
  type EncodingFlag,
  NULL_LENGTH,
  OP_ENTRY,
  type OpCode,
  OUTPUT_ENTRY,
  type RoleCode,
} from './batch-contract.js';

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
  /** Results only: whose topic (0: the shared one). */
  readonly tenant: number;
}

/** An output imeiflow writes itself (not a forwarded request): JSON, with no origin. */
export function jsonOutput(
  role: RoleCode,
  partition: number,
  key: string | null,
  value: Uint8Array | null,
  tenant = 0,
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
    tenant,
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
      o.tenant,
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
    tenant = 0,
  ): void {
    const e = this.#outputs.add();
    const view = this.#outputs.view;
    view.setUint8(e, role);
    view.setUint8(e + 1, encoding);
    view.setUint32(e + 4, partition, true);
    this.#write(view, e + 8, key);
    this.#write(view, e + 16, value);
    view.setUint32(e + 24, originPartition, true);
    view.setUint32(e + 28, tenant, true);
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

  /** Whose results topic a result goes to (0: the shared one). */
  tenant(i: number): number {
    return this.#view.getUint32(8 + i * OUTPUT_ENTRY + 28, true);
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
      tenant: this.tenant(i),
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
