/**
 * The outputs section is also the journal record: whatever builds it (a worker's OutputsBuilder,
 * or `encodeOutputs` converting an older journal format), BatchOutputs must read back exactly
 * what went in, in order, whatever the sizes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DB_OUTCOMES,
  DB_PENDING_BY_APPLICATION,
  type DbCode,
  ENCODING_JSON,
  ENCODING_MSGPACK,
  NULL_LENGTH,
  OP_PUT,
  OP_REMOVE,
  type OpCode,
  ROLE_CONFIRMATIONS,
  ROLE_REPARTITION,
  ROLE_RESULTS,
  type RoleCode,
} from '../../src/pool/batch-contract.js';
import {
  BatchOutputs,
  encodeOutputs,
  type OutputMessage,
  OutputsBuilder,
  type StateOp,
} from '../../src/pool/outputs-section.js';

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

function readBack(section: Uint8Array): { outputs: OutputMessage[]; ops: StateOp[]; keys: string[] } {
  const read = new BatchOutputs(section);
  const outputs: OutputMessage[] = [];
  const ops: StateOp[] = [];
  const keys: string[] = [];
  for (let i = 0; i < read.outputCount; i++) outputs.push(read.output(i));
  for (let i = 0; i < read.opCount; i++) {
    ops.push(read.op(i));
    keys.push(read.opKeyText(i));
  }
  return { outputs, ops, keys };
}

const bytesOf = (value: Uint8Array | null): number[] | null => (value === null ? null : [...value]);
const textOf = (value: Uint8Array | null): string | null =>
  value === null ? null : Buffer.from(value).toString('utf8');

describe('the outputs section', () => {
  it('reads back what the builder wrote: strings as UTF-8, bytes as they are, nulls as nulls', () => {
    const builder = new OutputsBuilder();
    builder.output(ROLE_RESULTS, 3, 'req-1', '{"outcome":"confirmed","detail":"Қазақстан ✓"}');
    builder.output(ROLE_CONFIRMATIONS, 3, '356938035643809', null);
    builder.output(
      ROLE_REPARTITION,
      1,
      '35693803564380',
      utf8('raw'),
      ENCODING_MSGPACK,
      2,
      17,
      1_764_400_000_123,
    );
    builder.op(DB_OUTCOMES, OP_PUT, 'req-1', new Uint8Array([0x93, 1, 2, 3]));
    builder.op(DB_PENDING_BY_APPLICATION, OP_REMOVE, 'KZ-1', '35693803564380');
    const { outputs, ops, keys } = readBack(builder.finish());
    expect(outputs.map((o) => [o.role, o.partition, textOf(o.key)])).toEqual([
      [ROLE_RESULTS, 3, 'req-1'],
      [ROLE_CONFIRMATIONS, 3, '356938035643809'],
      [ROLE_REPARTITION, 1, '35693803564380'],
    ]);
    expect(textOf(outputs[0]!.value)).toBe('{"outcome":"confirmed","detail":"Қазақстан ✓"}');
    expect(outputs[1]!.value).toBeNull();
    expect(outputs[2]).toMatchObject({
      encoding: ENCODING_MSGPACK,
      originPartition: 2,
      originOffset: 17,
      originTimestamp: 1_764_400_000_123,
    });
    expect(outputs[0]!.encoding).toBe(ENCODING_JSON);
    expect(keys).toEqual(['req-1', 'KZ-1']);
    expect(ops.map((o) => [o.db, o.op, bytesOf(o.value)])).toEqual([
      [DB_OUTCOMES, OP_PUT, [0x93, 1, 2, 3]],
      [DB_PENDING_BY_APPLICATION, OP_REMOVE, [...utf8('35693803564380')]],
    ]);
  });

  it('grows past its first buffers and matches encodeOutputs byte for byte', () => {
    const entry = fc.record({
      role: fc.constantFrom<RoleCode>(0, 1, 2, 3, 4, 5),
      partition: fc.nat(63),
      tenant: fc.nat(),
      key: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: null }),
      value: fc.option(fc.string({ unit: 'grapheme', maxLength: 3000 }), { nil: null }),
    });
    const op = fc.record({
      db: fc.constantFrom<DbCode>(0, 1, 2, 3),
      op: fc.constantFrom<OpCode>(OP_PUT, OP_REMOVE),
      key: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      value: fc.option(fc.uint8Array({ maxLength: 500 }), { nil: null }),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 600 }), fc.array(op, { maxLength: 600 }), (outs, changes) => {
        const builder = new OutputsBuilder();
        for (const o of outs)
          builder.output(o.role, o.partition, o.key, o.value, ENCODING_JSON, 0, 0, 0, o.tenant);
        for (const c of changes) builder.op(c.db, c.op, c.key, c.value);
        const built = builder.finish();
        const encoded = encodeOutputs(
          outs.map((o) => ({
            role: o.role,
            partition: o.partition,
            key: o.key === null ? null : utf8(o.key),
            value: o.value === null ? null : utf8(o.value),
            encoding: ENCODING_JSON,
            originPartition: 0,
            originOffset: 0,
            originTimestamp: 0,
            tenant: o.tenant,
          })),
          changes.map((c) => ({ db: c.db, op: c.op, key: utf8(c.key), value: c.value })),
        );
        expect(Buffer.from(built).equals(Buffer.from(encoded))).toBe(true);
        const { outputs, keys } = readBack(built);
        expect(outputs.map((o) => textOf(o.value))).toEqual(outs.map((o) => o.value));
        expect(outputs.map((o) => o.tenant)).toEqual(outs.map((o) => o.tenant));
        expect(keys).toEqual(changes.map((c) => c.key));
      }),
      { numRuns: 30 },
    );
  });

  it('marks a null as its own length, distinct from an empty value', () => {
    const builder = new OutputsBuilder();
    builder.output(ROLE_RESULTS, 0, '', '');
    builder.output(ROLE_RESULTS, 0, null, null);
    const section = builder.finish();
    const view = new DataView(section.buffer);
    // Entry 1's value length field: 8 bytes of counts, 48 per entry, value length at +20.
    expect(view.getUint32(8 + 48 + 20, true)).toBe(NULL_LENGTH);
    const { outputs } = readBack(section);
    expect(outputs.map((o) => [o.key?.length ?? null, o.value?.length ?? null])).toEqual([
      [0, 0],
      [null, null],
    ]);
  });
});
