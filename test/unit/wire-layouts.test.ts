/**
 * The binary entries between the main thread and the workers, and in the journal, are field
 * tables (src/pool/layout.ts, batch-contract.ts). A reference codec built only from a table
 * (`writeEntry`/`readEntry`) and the fast codecs must agree byte for byte, both ways, on random
 * batches: a field moved in the table and not in the code, or the reverse, fails here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeTask,
  encodeTask,
  INPUT_ENTRY,
  INPUT_LAYOUT,
  INPUT_REFUSALS,
  type InputMessage,
  type InputRefusal,
  NULL_LENGTH,
  OP_ENTRY,
  OP_LAYOUT,
  OUTPUT_ENTRY,
  OUTPUT_LAYOUT,
  packHeader,
  type TaskHeader,
} from '../../src/pool/batch-contract.js';
import {
  describeLayout,
  entryLayout,
  type Layout,
  readEntry,
  type Span,
  writeEntry,
} from '../../src/pool/layout.js';
import {
  BatchOutputs,
  encodeOutputs,
  type OutputMessage,
  type StateOp,
} from '../../src/pool/outputs-section.js';

interface ReferenceEntry {
  readonly fields: Readonly<Record<string, number>>;
  readonly spans: Readonly<Record<string, Uint8Array | null>>;
}

/** Lays out entries (each with its byte fields) and their bytes as a section does, from the tables alone. */
function referenceSection(
  prefix: Uint8Array,
  tables: readonly { readonly layout: Layout<string>; readonly entries: readonly ReferenceEntry[] }[],
): Uint8Array {
  const entryBytes = tables.reduce((n, t) => n + t.layout.size * t.entries.length, 0);
  const payload = tables.flatMap((t) => t.entries.flatMap((e) => Object.values(e.spans)));
  const total = prefix.length + entryBytes + payload.reduce((n, b) => n + (b?.length ?? 0), 0);
  const buffer = new Uint8Array(total);
  const view = new DataView(buffer.buffer);
  buffer.set(prefix, 0);
  let entryAt = prefix.length;
  const bytesStart = prefix.length + entryBytes;
  let at = 0;
  for (const t of tables) {
    for (const e of t.entries) {
      const values: Record<string, number | Span> = { ...e.fields };
      for (const [name, bytes] of Object.entries(e.spans)) {
        if (bytes === null) values[name] = { offset: 0, length: NULL_LENGTH };
        else {
          buffer.set(bytes, bytesStart + at);
          values[name] = { offset: at, length: bytes.length };
          at += bytes.length;
        }
      }
      writeEntry(view, entryAt, t.layout, values);
      entryAt += t.layout.size;
    }
  }
  return buffer;
}

const u32 = (...values: number[]): Uint8Array => {
  const b = new Uint8Array(values.length * 4);
  const view = new DataView(b.buffer);
  for (const [i, v] of values.entries()) view.setUint32(i * 4, v, true);
  return b;
};
const concat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
const bytes = fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null });
const offset = fc.integer({ min: 0, max: 2 ** 53 - 1 });

const input: fc.Arbitrary<InputMessage> = fc
  .record({
    kind: fc.constantFrom(0 as const, 1 as const, 2 as const),
    encoding: fc.constantFrom(0 as const, 1 as const),
    key: bytes,
    value: bytes,
    offset,
    timestamp: offset,
    originPartition: fc.nat(2 ** 31),
    originOffset: offset,
  })
  .chain((m) =>
    m.kind === 2
      ? fc
          .option(fc.constantFrom<InputRefusal>('unsigned', 'bad-signature'), { nil: undefined })
          .map((refusal): InputMessage => (refusal === undefined ? m : { ...m, refusal }))
      : fc.constant(m),
  );

const output: fc.Arbitrary<OutputMessage> = fc.record({
  role: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const, 4 as const, 5 as const),
  partition: fc.nat(1023),
  key: bytes,
  value: bytes,
  encoding: fc.constantFrom(0 as const, 1 as const),
  originPartition: fc.nat(2 ** 31),
  originOffset: offset,
  originTimestamp: offset,
  tenant: fc.nat(2 ** 32 - 1),
});

const op: fc.Arbitrary<StateOp> = fc.record({
  db: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
  op: fc.constantFrom(0 as const, 1 as const),
  key: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  value: bytes,
});

const HEADER: TaskHeader = {
  partition: 3,
  partitions: 8,
  now: 1_765_000_000_000,
  apply: [],
  dirtyBodies: [],
  dirtyApplications: [],
  sweep: false,
};

describe('the wire layouts', () => {
  it('are the sizes the sections assume, each field aligned', () => {
    expect([INPUT_ENTRY, OUTPUT_ENTRY, OP_ENTRY]).toEqual([48, 48, 20]);
    expect(describeLayout(OP_LAYOUT)).toBe('db u8 · op u8 · reserved u16 · key span · value span');
    expect(() =>
      entryLayout([
        ['flag', 'u8'],
        ['count', 'u32'],
      ]),
    ).toThrow(/not aligned/);
    expect(() =>
      entryLayout([
        ['offset', 'f64'],
        ['flag', 'u8'],
      ]),
    ).toThrow(/alignment/);
  });

  it('a task: the fast encoder writes what the table says, and decodes back', () => {
    fc.assert(
      fc.property(fc.array(input, { maxLength: 50 }), (inputs) => {
        const head = packHeader(HEADER);
        const reference = referenceSection(concat(u32(head.length), head, u32(inputs.length)), [
          {
            layout: INPUT_LAYOUT,
            entries: inputs.map((m) => ({
              fields: {
                kind: m.kind,
                encoding: m.encoding,
                refusal: m.refusal === undefined ? 0 : INPUT_REFUSALS.indexOf(m.refusal),
                originPartition: m.originPartition,
                offset: m.offset,
                timestamp: m.timestamp,
                originOffset: m.originOffset,
              },
              spans: { key: m.key, value: m.value },
            })),
          },
        ]);
        const encoded = encodeTask(HEADER, inputs);
        expect(Buffer.from(encoded).equals(Buffer.from(reference))).toBe(true);
        const decoded = decodeTask(reference).inputs;
        expect(
          decoded.map((m) => ({ ...m, key: m.key && [...m.key], value: m.value && [...m.value] })),
        ).toEqual(inputs.map((m) => ({ ...m, key: m.key && [...m.key], value: m.value && [...m.value] })));
      }),
      { numRuns: 100 },
    );
  });

  it('an outputs section: the builder writes what the table says, and BatchOutputs reads it back', () => {
    fc.assert(
      fc.property(fc.array(output, { maxLength: 40 }), fc.array(op, { maxLength: 40 }), (outs, ops) => {
        const reference = referenceSection(u32(outs.length, ops.length), [
          {
            layout: OUTPUT_LAYOUT,
            entries: outs.map((o) => ({
              fields: {
                role: o.role,
                encoding: o.encoding,
                reserved: 0,
                partition: o.partition,
                originPartition: o.originPartition,
                tenant: o.tenant,
                originOffset: o.originOffset,
                originTimestamp: o.originTimestamp,
              },
              spans: { key: o.key, value: o.value },
            })),
          },
          {
            layout: OP_LAYOUT,
            entries: ops.map((c) => ({
              fields: { db: c.db, op: c.op, reserved: 0 },
              spans: { key: c.key, value: c.value },
            })),
          },
        ]);
        const encoded = encodeOutputs(outs, ops);
        expect(Buffer.from(encoded).equals(Buffer.from(reference))).toBe(true);
        const read = new BatchOutputs(reference);
        const view = new DataView(reference.buffer);
        for (let i = 0; i < outs.length; i++) {
          const o = read.output(i);
          expect({ ...o, key: o.key && [...o.key], value: o.value && [...o.value] }).toEqual({
            ...outs[i]!,
            key: outs[i]!.key && [...outs[i]!.key!],
            value: outs[i]!.value && [...outs[i]!.value!],
          });
          expect(readEntry(view, 8 + i * OUTPUT_ENTRY, OUTPUT_LAYOUT).tenant).toBe(outs[i]!.tenant);
        }
        for (let i = 0; i < ops.length; i++) {
          const c = read.op(i);
          expect([c.db, c.op, [...c.key], c.value && [...c.value]]).toEqual([
            ops[i]!.db,
            ops[i]!.op,
            [...ops[i]!.key],
            ops[i]!.value && [...ops[i]!.value!],
          ]);
        }
      }),
      { numRuns: 100 },
    );
  });
});
