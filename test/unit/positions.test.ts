/**
 * The headers that carry positions (src/pipeline/positions.ts): each writer's header reads back as
 * what it wrote, malformed ones read as none, and the one-number order agrees with the pairwise
 * one for every position a journal record can hold.
 */
import fc from 'fast-check';
import type Kafka from 'node-rdkafka';
import { describe, expect, it } from 'vitest';
import { JOURNAL_MAX_MESSAGE_BYTES } from '../../src/kafka/device-topics.js';
import {
  BEFORE_ANY_OUTPUT,
  isAfter,
  MAX_OUTPUTS_PER_RECORD,
  ORIGIN_HEADER,
  outputOrder,
  outputPositionOf,
  POSITION_HEADER,
  placeHeader,
  placeOf,
  positionHeader,
  SOURCE_HEADER,
} from '../../src/pipeline/positions.js';
import { OUTPUT_ENTRY } from '../../src/pool/batch-contract.js';

const withHeaders = (...headers: Kafka.MessageHeader[]) => ({ headers });
const seq = fc.integer({ min: 0, max: 2 ** 32 });
const idx = fc.integer({ min: 0, max: MAX_OUTPUTS_PER_RECORD - 1 });

describe('positions', () => {
  it('an output position reads back as written, among other headers', () => {
    fc.assert(
      fc.property(seq, idx, (s, i) => {
        const message = withHeaders({ 'content-type': 'application/msgpack' }, positionHeader(s, i));
        expect(outputPositionOf(message)).toEqual({ seq: s, idx: i });
      }),
    );
  });

  it('a place reads back as written, under its own header only', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (partition, offset) => {
        const message = withHeaders(placeHeader(ORIGIN_HEADER, { partition, offset }));
        expect(placeOf(message, ORIGIN_HEADER)).toEqual({ partition, offset });
        expect(placeOf(message, SOURCE_HEADER)).toBeUndefined();
        expect(outputPositionOf(message)).toBeUndefined();
      }),
    );
  });

  it('reads a malformed header as none', () => {
    for (const value of ['', '.', '5', '5.', '.5', 'a.b', '1.2.3', '1e3.2', '-', ' 1.2'])
      expect(outputPositionOf(withHeaders({ [POSITION_HEADER]: value })), value).toBeUndefined();
    expect(outputPositionOf({})).toBeUndefined();
    expect(outputOrder({})).toBe(-1);
  });

  it('orders outputs by record, then index; the one-number order agrees', () => {
    fc.assert(
      fc.property(seq, idx, seq, idx, (s1, i1, s2, i2) => {
        const a = { seq: s1, idx: i1 };
        const b = { seq: s2, idx: i2 };
        const order = (p: typeof a) => outputOrder(withHeaders(positionHeader(p.seq, p.idx)));
        expect(isAfter(a, b)).toBe(order(a) > order(b));
        expect(isAfter(a, BEFORE_ANY_OUTPUT)).toBe(true);
      }),
    );
  });

  it('a journal record cannot hold as many outputs as the order assumes', () => {
    expect(Math.floor(JOURNAL_MAX_MESSAGE_BYTES / OUTPUT_ENTRY)).toBeLessThan(MAX_OUTPUTS_PER_RECORD);
  });
});
