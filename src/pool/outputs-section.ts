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
  OP_LAYOUT,
  type OpCode,
  OUTPUT_ENTRY,
  OUTPUT_LAYOUT,
  type RoleCode,
} from './batch-contract.js';

/** Field offsets of an output entry and of a state change's (the tables in batch-contract.ts). */
const OUT = OUTPUT_LAYOUT.at;
const OP = OP_LAYOUT.at;

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
    view.setUint8(e + OUT.role, role);
    view.setUint8(e + OUT.encoding, encoding);
    view.setUint32(e + OUT.partition, partition, true);
    this.#write(view, e + OUT.key, key);
    this.#write(view, e + OUT.value, value);
    view.setUint32(e + OUT.originPartition, originPartition, true);
    view.setUint32(e + OUT.tenant, tenant, true);
    view.setFloat64(e + OUT.originOffset, originOffset, true);
    view.setFloat64(e + OUT.originTimestamp, originTimestamp, true);
  }

  op(db: DbCode, op: OpCode, key: Uint8Array | string, value: SectionBytes): void {
    const e = this.#ops.add();
    const view = this.#ops.view;
    view.setUint8(e + OP.db, db);
    view.setUint8(e + OP.op, op);
    this.#write(view, e + OP.key, key);
    this.#write(view, e + OP.value, value);
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
    return this.#view.getUint8(this.#output(i) + OUT.role) as RoleCode;
  }

  partition(i: number): number {
    return this.#view.getUint32(this.#output(i) + OUT.partition, true);
  }

  /** Whose results topic a result goes to (0: the shared one). */
  tenant(i: number): number {
    return this.#view.getUint32(this.#output(i) + OUT.tenant, true);
  }

  key(i: number): Buffer | null {
    return this.#bufferAt(this.#output(i) + OUT.key);
  }

  value(i: number): Buffer | null {
    return this.#bufferAt(this.#output(i) + OUT.value);
  }

  output(i: number): OutputMessage {
    const e = this.#output(i);
    return {
      role: this.role(i),
      partition: this.partition(i),
      key: this.key(i),
      value: this.value(i),
      encoding: this.#view.getUint8(e + OUT.encoding) as EncodingFlag,
      originPartition: this.#view.getUint32(e + OUT.originPartition, true),
      originOffset: this.#view.getFloat64(e + OUT.originOffset, true),
      originTimestamp: this.#view.getFloat64(e + OUT.originTimestamp, true),
      tenant: this.tenant(i),
    };
  }

  op(i: number): StateOp {
    return {
      db: this.opDb(i),
      op: this.opCode(i),
      key: this.#bufferAt(this.#op(i) + OP.key)!,
      value: this.opValue(i),
    };
  }

  opDb(i: number): DbCode {
    return this.#view.getUint8(this.#op(i) + OP.db) as DbCode;
  }

  opCode(i: number): OpCode {
    return this.#view.getUint8(this.#op(i) + OP.op) as OpCode;
  }

  opValue(i: number): Buffer | null {
    return this.#bufferAt(this.#op(i) + OP.value);
  }

  /** A state change's key as text (every store's keys are strings), with no Buffer between. */
  opKeyText(i: number): string {
    const field = this.#op(i) + OP.key;
    const start = this.#bytesStart + this.#view.getUint32(field, true);
    return this.#text.toString('utf8', start, start + this.#view.getUint32(field + 4, true));
  }

  /** Where output entry `i` starts. */
  #output(i: number): number {
    return 8 + i * OUTPUT_ENTRY;
  }

  /** Where state-change entry `i` starts. */
  #op(i: number): number {
    return this.#opsStart + i * OP_ENTRY;
  }

  /** The bytes a span field at `field` points to. */
  #bufferAt(field: number): Buffer | null {
    const offset = this.#view.getUint32(field, true);
    const length = this.#view.getUint32(field + 4, true);
    if (length === NULL_LENGTH) return null;
    const start = this.#buffer.byteOffset + this.#bytesStart + offset;
    return Buffer.from(this.#buffer.buffer, start, length);
  }
}
