import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/domain/request.js';

const LIMIT = 65536;
const good = {
  requestId: 'op-beeline-000123',
  imei: '35-209900-176148-1',
  operator: 'beeline',
  channel: 'import',
  ownerId: '880101300123',
  msisdn: '+77011234567',
  applicationId: 'KZ-2025-000042',
  submittedAt: '2026-11-20T10:15:00Z',
};
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('rule 1: decoding', () => {
  it('accepts the contract example in JSON and in msgpack', () => {
    expect(parseRequest(json(good), 'json', LIMIT)).toEqual({ kind: 'ok', request: good });
    expect(parseRequest(pack(good), 'msgpack', LIMIT)).toEqual({ kind: 'ok', request: good });
  });

  it.each([
    ['an empty value', Buffer.alloc(0), 'empty message value'],
    ['not JSON', Buffer.from('{"requestId":'), 'not JSON'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'not valid UTF-8'],
    ['a JSON array', json([good]), 'not an object'],
    ['a JSON string', json('hello'), 'not an object'],
    ['JSON null', Buffer.from('null'), 'not an object'],
    ['no requestId', json({ ...good, requestId: undefined }), 'requestId is missing'],
    ['a numeric requestId', json({ ...good, requestId: 42 }), 'requestId must be a string'],
    ['an empty requestId', json({ ...good, requestId: '' }), 'requestId must be a string'],
    ['a requestId with a newline', json({ ...good, requestId: 'a\nb' }), 'printable'],
    ['a 200-character requestId', json({ ...good, requestId: 'x'.repeat(200) }), 'requestId must be'],
  ])('sends %s to the DLQ', (_what, value, error) => {
    const result = parseRequest(value, 'json', LIMIT);
    expect(result.kind).toBe('undecodable');
    if (result.kind === 'undecodable') expect(result.error).toContain(error);
  });

  it('a value over the size limit is not decoded; its requestId, read from its start, is kept for an answer', () => {
    const big = json({ ...good, padding: 'x'.repeat(LIMIT) });
    expect(parseRequest(big, 'json', LIMIT)).toEqual({
      kind: 'oversized',
      requestId: 'op-beeline-000123',
      error: `message value is ${big.length} bytes; the limit is ${LIMIT}`,
    });
    // Spaces, not JSON, and msgpack: nobody to answer; the DLQ keeps them.
    expect(parseRequest(Buffer.alloc(LIMIT + 1, 0x20), 'json', LIMIT)).toMatchObject({
      kind: 'oversized',
      requestId: null,
    });
    expect(parseRequest(pack({ ...good, padding: 'x'.repeat(LIMIT) }), 'msgpack', LIMIT)).toMatchObject({
      kind: 'oversized',
      requestId: null,
    });
    // A requestId that would be refused on its own is not answered either.
    const unusable = json({ requestId: 'a\nb', padding: 'x'.repeat(LIMIT) });
    expect(parseRequest(unusable, 'json', LIMIT)).toMatchObject({ kind: 'oversized', requestId: null });
  });

  it('sends bad msgpack to the DLQ', () => {
    const result = parseRequest(Buffer.from([0xc1, 0xc1, 0xc1]), 'msgpack', LIMIT);
    expect(result.kind).toBe('undecodable');
  });

  it('a null value (tombstone) goes to the DLQ', () => {
    expect(parseRequest(null, 'json', LIMIT)).toEqual({ kind: 'undecodable', error: 'empty message value' });
  });
});

describe('rule 1: field validation → invalid_request naming the field', () => {
  it.each([
    [{ imei: undefined }, 'imei is missing'],
    [{ imei: 352099001761481 }, 'imei must be a string, got a number'],
    [{ operator: undefined }, 'operator is missing'],
    [{ operator: '' }, 'operator must be a non-empty string'],
    [{ channel: 'smuggled' }, 'channel must be one of import, individual, local'],
    [{ channel: undefined }, 'channel is missing'],
    [{ ownerId: '880101300124' }, 'ownerId is not a valid IIN/BIN'],
    [{ ownerId: 880101300123 }, 'ownerId must be a string, got a number'],
    [{ msisdn: '87011234567' }, 'msisdn is not an E.164 number'],
    [{ applicationId: ['KZ'] }, 'applicationId must be a string, got an array'],
    [{ applicationId: '' }, 'applicationId must not be empty'],
    [{ submittedAt: 'yesterday' }, 'submittedAt is not an ISO 8601 timestamp'],
  ])('%j → %s', (patch, detail) => {
    const result = parseRequest(json({ ...good, ...patch }), 'json', LIMIT);
    expect(result).toEqual({
      kind: 'invalid',
      requestId: good.requestId,
      imei: expect.any(String),
      detail: expect.stringContaining(detail),
      // The answer goes to the operator's results topic when the request names one as text.
      operator:
        'operator' in patch ? (typeof patch.operator === 'string' ? patch.operator : null) : good.operator,
    });
  });

  it('optional fields may be absent or null', () => {
    const minimal = {
      requestId: 'r',
      imei: '352099001761481',
      operator: 'kcell',
      channel: 'local',
      ownerId: null,
    };
    expect(parseRequest(json(minimal), 'json', LIMIT)).toEqual({
      kind: 'ok',
      request: { requestId: 'r', imei: '352099001761481', operator: 'kcell', channel: 'local' },
    });
  });

  it('never throws on arbitrary bytes or arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(['undecodable', 'invalid', 'ok']).toContain(parseRequest(bytes, 'json', LIMIT).kind);
        expect(['undecodable', 'invalid', 'ok']).toContain(parseRequest(bytes, 'msgpack', LIMIT).kind);
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(['undecodable', 'invalid', 'ok']).toContain(parseRequest(json(value), 'json', LIMIT).kind);
      }),
      { numRuns: 3000 },
    );
  });
});
