import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { type BatchMessage, ENCODING_JSON, ENCODING_MSGPACK } from '../../src/pool/batch-contract.js';
import { verifyBatch } from '../../src/pool/verify-batch.js';
import { MapIndexView } from '../support/map-view.js';

const settings = { eligibleProcedures: new Set(['40']) };
const BODY = '35209900176148';
const msg = (value: unknown, offset: number): BatchMessage => [
  Buffer.from(JSON.stringify(value)),
  ENCODING_JSON,
  0,
  offset,
  null,
];
const req = (requestId: string, extra: Record<string, unknown> = {}) => ({
  requestId,
  imei: '352099001761481',
  operator: 'beeline',
  channel: 'import',
  ...extra,
});

describe('verifyBatch', () => {
  const view = () => new MapIndexView().addTac('35209900').declare(BODY, { applicationId: 'A' });

  it('answers every message in input order: verdicts and undecodables', () => {
    const results = verifyBatch(
      {
        now: Date.parse('2026-11-23T00:00:00Z'),
        topic: 'requests',
        messages: [
          msg(req('a'), 0),
          [Buffer.from('{'), ENCODING_JSON, 0, 1, 'k'],
          [Buffer.from(pack(req('b'))), ENCODING_MSGPACK, 0, 2, null],
        ],
      },
      view(),
      settings,
      65536,
    );
    expect(
      results.map((r) => (r.kind === 'verdict' ? `${r.decision.requestId}:${r.decision.outcome}` : r.kind)),
    ).toEqual(['a:confirmed', 'undecodable', 'b:confirmed']);
  });

  it('a requestId repeated within the batch is a duplicate', () => {
    const results = verifyBatch(
      { now: 0, topic: 'requests', messages: [msg(req('a'), 0), msg(req('a'), 1)] },
      view(),
      settings,
      65536,
    );
    expect(results[1]).toMatchObject({ kind: 'verdict', decision: { reason: 'duplicate_request' } });
  });

  it('a device confirmed earlier in the batch is registered for later messages', () => {
    const results = verifyBatch(
      {
        now: 0,
        topic: 'requests',
        messages: [
          msg(req('a', { ownerId: '880101300123' }), 0),
          msg(req('b', { ownerId: '990340005977' }), 1),
        ],
      },
      view(),
      settings,
      65536,
    );
    expect(results[1]).toMatchObject({
      kind: 'verdict',
      decision: { outcome: 'review', reason: 'owner_conflict' },
    });
  });

  it('an invalid request is rejected with invalid_request and counts as a final outcome', () => {
    const results = verifyBatch(
      { now: 0, topic: 'requests', messages: [msg(req('a', { channel: 'x' }), 0), msg(req('a'), 1)] },
      view(),
      settings,
      65536,
    );
    expect(results[0]).toMatchObject({ decision: { outcome: 'rejected', reason: 'invalid_request' } });
    expect(results[1]).toMatchObject({ decision: { reason: 'duplicate_request' } });
  });
});
