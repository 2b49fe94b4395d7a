/**
 * The code agrees with the contract's zod schemas (src/domain/messages.ts), from which
 * docs/asyncapi.yaml is generated: the hand-written request parser accepts exactly what the
 * request schema accepts, and every output message the code builds matches its schema.
 */
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { iinBinCheckDigit } from '../../src/domain/ids.js';
import { luhnDigit } from '../../src/domain/imei.js';
import {
  answerableRequestSchema,
  confirmationMessageSchema,
  dlqMessageSchema,
  resultMessageSchema,
  revocationMessageSchema,
  verifyRequestSchema,
} from '../../src/domain/messages.js';
import {
  confirmationMessage,
  DLQ_MAX_ORIGINAL_BYTES,
  DLQ_MAX_TEXT_CHARS,
  dlqKey,
  dlqMessage,
  resultMessage,
  revocationMessage,
} from '../../src/domain/outputs.js';
import { releaseDecisionSchema } from '../../src/domain/release-decision.js';
import { validateRequest } from '../../src/domain/request.js';
import {
  CHANNELS,
  type Decision,
  EVIDENCE_KINDS,
  type FinalDecision,
  PENDING_REASONS,
  REJECT_REASONS,
  REVIEW_REASONS,
} from '../../src/domain/types.js';
import { decodeConfirmationValue } from '../../src/pipeline/table-decoders.js';
import {
  ENCODING_JSON,
  ENCODING_MSGPACK,
  INPUT_REQUEST,
  type InputMessage,
  ROLE_CONFIRMATIONS,
  ROLE_DLQ,
  ROLE_RESULTS,
} from '../../src/pool/batch-contract.js';
import { BatchWriter } from '../../src/pool/batch-writer.js';
import { BatchOutputs } from '../../src/pool/outputs-section.js';
import { decideMessages } from '../../src/pool/partition-batch.js';
import { workerSettingsWith } from '../support/batches.js';
import { testDecoders } from '../support/cluster-key.js';
import { MapIndexView } from '../support/map-view.js';

/** Fails with the schema's own words, so a disagreement says which field. */
function expectMatches(schema: ZodType, bytes: Uint8Array, what: string): unknown {
  const value: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'));
  const result = schema.safeParse(value);
  expect(
    result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    `${what}: ${JSON.stringify(value)}`,
  ).toEqual([]);
  return value;
}

const iinBin = fc.stringMatching(/^\d{11}$/).map((first) => {
  const check = iinBinCheckDigit(first);
  return check === undefined ? '880101300123' : first + String(check);
});
const withLuhn = (body: string): string => body + String(luhnDigit(body));
const isoTime = fc
  .date({ noInvalidDate: true, min: new Date('2000-01-01'), max: new Date('2100-01-01') })
  .map((d) => d.toISOString());

/** Values of the wrong type for any field. */
const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
);
/** Any text, control characters and astral characters included, some past every length limit. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 140 }),
);

const requestFields = {
  requestId: fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 128 }) },
    fc.constantFrom('', 'x'.repeat(128), 'x'.repeat(129), 'a\nb', 'tab\there', 'del\u007f'),
    anyText,
    notAString,
  ),
  imei: fc.oneof(fc.stringMatching(/^[0-9 -]{14,17}$/), anyText, notAString),
  operator: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('beeline', 'kcell', 'tele2') },
    fc.constantFrom('', 'o'.repeat(256), 'o'.repeat(257)),
    anyText,
    notAString,
  ),
  channel: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...CHANNELS) },
    fc.constantFrom('smuggled', '', 'IMPORT'),
    notAString,
  ),
  ownerId: fc.oneof(
    { weight: 3, arbitrary: iinBin },
    fc.stringMatching(/^\d{12}$/),
    fc.constantFrom('', ' 880101300123', '8801013001234'),
    anyText,
    notAString,
  ),
  msisdn: fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^\+\d{6,17}$/) },
    fc.constantFrom('+77011234567', '87011234567', '+07011234567', ''),
    anyText,
    notAString,
  ),
  applicationId: fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 260 }) },
    fc.constantFrom('', 'a'.repeat(256), 'a'.repeat(257)),
    notAString,
  ),
  submittedAt: fc.oneof(
    { weight: 3, arbitrary: isoTime },
    fc.constantFrom('yesterday', '2026-11-20', 'Nov 20 2026 10:15', '', '2026-13-45T99:00:00Z'),
    anyText,
    notAString,
  ),
};

const validFields = fc.record(
  {
    requestId: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 128 }),
    imei: fc.stringMatching(/^[0-9 -]{14,17}$/),
    operator: fc.constantFrom('beeline', 'kcell', 'tele2'),
    channel: fc.constantFrom(...CHANNELS),
    ownerId: fc.oneof(iinBin, fc.constant(null)),
    msisdn: fc.oneof(fc.constant('+77011234567'), fc.stringMatching(/^\+[1-9]\d{7,14}$/), fc.constant(null)),
    applicationId: fc.oneof(fc.string({ minLength: 1, maxLength: 256 }), fc.constant(null)),
    submittedAt: fc.oneof(isoTime, fc.constant(null)),
  },
  { requiredKeys: ['requestId', 'imei', 'operator', 'channel'] },
);
type Field = keyof typeof requestFields;
/** A field removed (undefined) or given any value, valid or not. */
const mutation = fc
  .constantFrom(...(Object.keys(requestFields) as Field[]))
  .chain((field) =>
    fc.tuple(
      fc.constant(field),
      fc.option(requestFields[field] as fc.Arbitrary<unknown>, { nil: undefined }),
    ),
  );

/**
 * Valid requests with up to three fields removed or replaced (so each check is reached), with
 * unknown fields, and any other JSON.
 */
const decodedValue = fc
  .oneof(
    {
      weight: 12,
      arbitrary: fc
        .tuple(
          validFields,
          fc.array(mutation, { maxLength: 3 }),
          fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
        )
        .map(([fields, mutations, extra]) => {
          const value: Record<string, unknown> = { ...extra, ...fields };
          for (const [field, replacement] of mutations) {
            if (replacement === undefined) delete value[field];
            else value[field] = replacement;
          }
          return value;
        }),
    },
    fc.jsonValue({ maxDepth: 2 }),
  )
  // What JSON decoding yields: the parser never sees undefined, -0 or other non-JSON values.
  .map((value) => JSON.parse(JSON.stringify(value) ?? 'null') as unknown);

function withoutNulls(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));
}

describe('the request schema and the hand-written parser (rule 1)', () => {
  it('accept exactly the same requests, and send exactly the same ones to the DLQ', () => {
    const seen = { ok: 0, invalid: 0, undecodable: 0 };
    fc.assert(
      fc.property(decodedValue, (value) => {
        const parsed = validateRequest(value);
        seen[parsed.kind]++;
        expect(parsed.kind === 'undecodable', 'DLQ iff no usable requestId').toBe(
          !answerableRequestSchema.safeParse(value).success,
        );
        const schema = verifyRequestSchema.safeParse(value);
        expect(parsed.kind === 'ok', 'accepted iff the schema accepts').toBe(schema.success);
        if (parsed.kind === 'ok' && schema.success) {
          expect(parsed.request).toEqual(withoutNulls(schema.data));
        }
        if (parsed.kind === 'invalid' && !schema.success) {
          // The detail names a field the schema also finds wrong.
          const fields = schema.error.issues.map((i) => String(i.path[0]));
          expect(fields).toContain(parsed.detail.split(' ')[0]);
        }
      }),
      { numRuns: 20_000 },
    );
    // The generator reaches every branch often, or the agreement above would prove little.
    expect(seen.ok).toBeGreaterThan(1000);
    expect(seen.invalid).toBeGreaterThan(1000);
    expect(seen.undecodable).toBeGreaterThan(1000);
  });

  it('accepts the contract examples (DESIGN.md §4, README)', () => {
    for (const example of [
      {
        requestId: 'op-beeline-000123',
        imei: '35-209900-176148-1',
        operator: 'beeline',
        channel: 'import',
        ownerId: '880101300123',
        msisdn: '+77011234567',
        applicationId: 'KZ-2025-000042',
        submittedAt: '2026-11-20T10:15:00Z',
      },
      {
        requestId: 'r-1',
        imei: '352099001761481',
        operator: 'beeline',
        channel: 'import',
        ownerId: '880101300123',
      },
    ]) {
      expect(verifyRequestSchema.safeParse(example).success).toBe(true);
      expect(validateRequest(example).kind).toBe('ok');
    }
    expect(
      releaseDecisionSchema.safeParse({
        applicationId: 'KZ-2025-000042',
        procedure: '40',
        status: 'released',
        hsCode: '8517130000',
        declarantId: '990340005977',
        imeis: ['352099001761481', '35209900176149'],
        decidedAt: '2026-11-20T09:00:00Z',
      }).success,
    ).toBe(true);
  });
});

// An index with one device for every rule of DESIGN.md §4.
const APPLE = '35209900';
const OWNER = '880101300123';
const OTHER_OWNER = '990340005977';
const body = (serial: number) => APPLE + String(serial).padStart(6, '0');
const RELEASED = body(101);
const REFUSED = body(102);
const INELIGIBLE = body(103);
const BLOCKED = body(104);
const LOCAL = body(105);
const REGISTERED = body(106);
const UNDECIDED = body(107);
const EAEU = body(108);
// Released under a modem's HS code, outside the exchange (seed 000 appendix 1).
const MODEM = body(109);
const UNKNOWN_TAC = '99999999000001';

function ruleIndex(): MapIndexView {
  const view = new MapIndexView()
    .addTac(APPLE)
    .declare(RELEASED, { applicationId: 'KZ-A', procedure: '40' })
    .declare(REFUSED, { applicationId: 'KZ-R', status: 'refused' })
    .declare(INELIGIBLE, { applicationId: 'KZ-T', procedure: '80' })
    .declare(UNDECIDED, { applicationId: 'KZ-U', status: 'registered' })
    .declare(EAEU, { applicationId: 'KZ-E', procedure: null })
    .declare(MODEM, { applicationId: 'KZ-M', hsCode: '8517620000' });
  view.blocks.set(BLOCKED, { source: 'gsma', reason: 'stolen', since: null });
  view.local.set(LOCAL, { producerId: OTHER_OWNER, reference: 'ACT-1', producedAt: null });
  view.registry.set(REGISTERED, {
    requestId: 'old',
    partition: 0,
    imei: withLuhn(REGISTERED),
    ownerId: OWNER,
    msisdn: '+77011234567',
    evidence: 'kgd-release',
    operator: 'beeline',
    applicationId: 'KZ-A',
    procedure: '40',
    at: '2026-11-20T09:00:00.000Z',
  });
  const done: FinalDecision = {
    outcome: 'rejected',
    requestId: 'done-1',
    imei: withLuhn(RELEASED),
    body: RELEASED,
    reason: 'tac_unknown',
    detail: 'earlier',
  };
  view.outcomes.set('done-1', { decision: done, source: '9/9', at: '2026-11-20T09:00:00.000Z' });
  return view;
}

const imeiForms = fc
  .tuple(
    fc.constantFrom(
      RELEASED,
      REFUSED,
      INELIGIBLE,
      BLOCKED,
      LOCAL,
      REGISTERED,
      UNDECIDED,
      EAEU,
      MODEM,
      UNKNOWN_TAC,
    ),
    fc.constantFrom('imei14', 'imei15', 'luhn-wrong', 'imeisv', 'dashed'),
  )
  .map(([b, form]) => {
    const luhn = luhnDigit(b);
    switch (form) {
      case 'imei14':
        return b;
      case 'imei15':
        return b + String(luhn);
      case 'luhn-wrong':
        return b + String((luhn + 1) % 10);
      case 'imeisv':
        return `${b}07`;
      default:
        return `${b.slice(0, 2)}-${b.slice(2, 8)}-${b.slice(8)}-${luhn}`;
    }
  });

const batchRequest = fc.record(
  {
    requestId: fc.oneof(fc.constantFrom('r-1', 'r-2', 'r-3', 'done-1'), fc.string({ maxLength: 20 })),
    imei: fc.oneof({ weight: 8, arbitrary: imeiForms }, fc.constantFrom('12-345', '000000001234567', '')),
    operator: fc.constantFrom('beeline', 'kcell'),
    channel: fc.constantFrom(...CHANNELS, 'smuggled'),
    ownerId: fc.constantFrom(OWNER, OTHER_OWNER, '880101300124'),
    msisdn: fc.constantFrom('+77011234567', '+77019999999'),
    applicationId: fc.constantFrom('KZ-A', 'KZ-R', 'KZ-T', 'KZ-U', 'KZ-E', 'KZ-M', 'KZ-NONE'),
  },
  { requiredKeys: ['requestId', 'imei', 'operator', 'channel'] },
);

const MAX_BYTES = 1024;
const batchValue: fc.Arbitrary<readonly [Uint8Array | null, 0 | 1]> = fc.oneof(
  { weight: 8, arbitrary: batchRequest.map((r) => [Buffer.from(JSON.stringify(r)), ENCODING_JSON] as const) },
  { weight: 2, arbitrary: batchRequest.map((r) => [pack(r), ENCODING_MSGPACK] as const) },
  fc.uint8Array({ maxLength: 40 }).map((bytes) => [bytes, ENCODING_JSON] as const),
  fc.constant([Buffer.alloc(MAX_BYTES + 1, 0x20), ENCODING_JSON] as const),
  fc.constant([null, ENCODING_JSON] as const),
);

describe('every output the code builds matches its schema', () => {
  it('a partition batch: every result, confirmation and DLQ entry, through the worker contract', () => {
    const rules = {
      eligibleProcedures: new Set(['40', '53', '60', '94']),
      acceptEaeuImports: true,
      hsCodesInScope: new Set(['8517130000', '8517140000', '8471300000']),
    };
    const { config } = workerSettingsWith('unused', { pipeline: { maxMessageBytes: MAX_BYTES } });
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(batchValue, fc.option(fc.string({ maxLength: 20 }), { nil: null })), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.nat({ max: 11 }),
        (items, partition) => {
          const inputs: InputMessage[] = items.map(([[value, encoding], key], offset) => ({
            kind: INPUT_REQUEST,
            encoding,
            key: key === null ? null : Buffer.from(key),
            value,
            offset,
            timestamp: Date.parse('2026-11-23T06:00:00Z'),
            originPartition: partition,
            originOffset: offset,
          }));
          const index = ruleIndex();
          const writer = new BatchWriter(
            index,
            {
              pending: () => undefined,
              registered: (b) => index.registered(b),
              outcome: (id) => index.outcome(id),
            },
            partition,
            new Date('2026-11-23T06:00:00Z'),
            rules,
            {
              workingDays: 1,
              reviewMinimumMinutes: 0,
              calendar: { utcOffsetMinutes: 300, holidays: new Set() },
            },
          );
          // As many partitions as the one the batch is from: its devices are decided here (those that
          // hash elsewhere are forwarded undecided, which the pipeline tests cover). The outputs
          // section is what the main thread publishes.
          decideMessages({ rules, config }, { partition: 0, partitions: 1 }, inputs, writer);
          const outputs = new BatchOutputs(writer.finish().section);
          for (let i = 0; i < outputs.outputCount; i++) {
            const value = outputs.value(i)!;
            switch (outputs.role(i)) {
              case ROLE_DLQ:
                expectMatches(dlqMessageSchema, value, 'DLQ entry');
                seen.add('dlq');
                break;
              case ROLE_RESULTS: {
                const result = expectMatches(resultMessageSchema, value, 'result') as {
                  outcome: string;
                  reason: string | null;
                  evidence?: string;
                };
                seen.add(
                  result.outcome === 'confirmed'
                    ? `confirmed/${result.evidence}`
                    : `${result.outcome}/${result.reason}`,
                );
                break;
              }
              case ROLE_CONFIRMATIONS:
                expectMatches(confirmationMessageSchema, value, 'confirmation');
                seen.add('confirmation');
                break;
            }
          }
        },
      ),
      { numRuns: 1500 },
    );
    // Every outcome the workers can reach was built and checked (the others come from commands).
    const fromCommands = new Set([
      'rejected/review_rejected',
      'rejected/purged',
      'review/kgd_timeout',
      'confirmed/manual',
    ]);
    const reachable = [
      ...REJECT_REASONS.map((r) => `rejected/${r}`),
      ...PENDING_REASONS.map((r) => `pending/${r}`),
      ...REVIEW_REASONS.map((r) => `review/${r}`),
      ...EVIDENCE_KINDS.map((e) => `confirmed/${e}`),
      'dlq',
      'confirmation',
    ].filter((k) => !fromCommands.has(k));
    expect(reachable.filter((k) => !seen.has(k))).toEqual([]);
  });

  it('results and confirmations of any decision (commands decide too: reviews, deadlines)', () => {
    const imei15 = fc.stringMatching(/^\d{14}$/).map(withLuhn);
    const requestId = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 128 });
    const detail = fc.string({ maxLength: 200 });
    const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
    const msisdn = fc.stringMatching(/^\+[1-9]\d{7,14}$/);
    const decision: fc.Arbitrary<Decision> = fc.oneof(
      fc.record({
        outcome: fc.constant('confirmed' as const),
        requestId,
        imei: imei15,
        body: fc.constant(''),
        evidence: fc.constantFrom(...EVIDENCE_KINDS),
        applicationId: nullable(fc.string({ minLength: 1, maxLength: 256 })),
        procedure: nullable(fc.stringMatching(/^\d{2}$/)),
        device: fc.record({
          tac: fc.stringMatching(/^\d{8}$/),
          brand: fc.oneof(fc.constant('Unknown'), fc.string()),
          model: fc.string(),
          deviceType: fc.string(),
        }),
        ownerId: nullable(iinBin),
        msisdn: nullable(msisdn),
        operator: fc.constantFrom('beeline', 'kcell'),
        notify: fc.boolean(),
        detail,
      }),
      fc.record({
        outcome: fc.constant('rejected' as const),
        requestId,
        imei: fc.oneof(imei15, fc.string({ maxLength: 64 })),
        body: fc.constant(null),
        reason: fc.constantFrom(...REJECT_REASONS),
        detail,
      }),
      fc.record({
        outcome: fc.constant('pending' as const),
        requestId,
        imei: imei15,
        body: fc.constant(''),
        reason: fc.constantFrom(...PENDING_REASONS),
        detail,
      }),
      fc.record({
        outcome: fc.constant('review' as const),
        requestId,
        imei: imei15,
        body: fc.constant(''),
        reason: fc.constantFrom(...REVIEW_REASONS),
        detail,
      }),
    );
    fc.assert(
      fc.property(decision, isoTime, (d, at) => {
        const result = expectMatches(resultMessageSchema, resultMessage(d, at), 'result');
        expect(result).toMatchObject({ requestId: d.requestId, outcome: d.outcome, at });
        if (d.outcome === 'confirmed') {
          const message = confirmationMessage(d, at);
          expectMatches(confirmationMessageSchema, message, 'confirmation');
          // БДИК's record names the registering operator, and the registry read back from it
          // (the registry view, a restore) knows it: issue 22's "devices it registered".
          const entry = decodeConfirmationValue(Buffer.from(message), 2);
          expect(entry).toMatchObject({
            ok: true,
            value: { requestId: d.requestId, imei: d.imei, operator: d.operator },
          });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a confirmation written before confirmations named their operator is still one, and its registering operator reads back unknown', () => {
    const before = {
      requestId: 'r-1',
      imei: '352099001761481',
      tac: '35209900',
      brand: 'Apple',
      model: 'iPhone 6',
      deviceType: 'Smartphone',
      ownerId: null,
      msisdn: null,
      evidence: 'kgd-release',
      applicationId: 'KZ-1',
      procedure: '40',
      verifiedAt: '2026-11-20T10:00:00.000Z',
    };
    const bytes = Buffer.from(JSON.stringify(before));
    expectMatches(confirmationMessageSchema, bytes, 'confirmation');
    expect(decodeConfirmationValue(bytes, 0)).toMatchObject({
      ok: true,
      value: { requestId: 'r-1', operator: null },
    });
    // What is not one is refused by the same schema, naming the field.
    const broken = Buffer.from(JSON.stringify({ ...before, imei: '35209900176148' }));
    expect(decodeConfirmationValue(broken, 0)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/not a БДИК confirmation: imei/),
    });
  });

  it('revocations, as the revoke command builds them from a registry entry', () => {
    fc.assert(
      fc.property(
        fc.record({
          imei: fc.stringMatching(/^\d{14}$/).map(withLuhn),
          requestId: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 128 }),
          applicationId: fc.string({ minLength: 1, maxLength: 128 }),
          ownerId: fc.option(iinBin, { nil: null }),
          msisdn: fc.option(fc.stringMatching(/^\+[1-9]\d{7,14}$/), { nil: null }),
          reason: fc.string({ minLength: 1, maxLength: 1000 }),
          revokedAt: isoTime,
        }),
        (revocation) => {
          const value = expectMatches(revocationMessageSchema, revocationMessage(revocation), 'revocation');
          expect(value).toEqual(revocation);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a DLQ entry of a huge key and error keeps the first 4 096 characters of each, and says how many more', () => {
    // Control characters: JSON writes each as six.
    const key = '\u0001'.repeat(900_000);
    const error = `release decision lists invalid IMEIs: ${'x'.repeat(2_000_000)}`;
    const bytes = dlqMessage(
      { topic: 'kgd.release.decisions', partition: 1, offset: 7, key },
      Buffer.alloc(10),
      error,
      '2026-12-08T01:00:00.000Z',
    );
    expect(bytes.length).toBeLessThan(64 * 1024);
    const entry = expectMatches(dlqMessageSchema, bytes, 'DLQ entry') as {
      key: string | null;
      error: string;
    };
    expect(entry.key).toBe(
      `${key.slice(0, DLQ_MAX_TEXT_CHARS)}… (${900_000 - DLQ_MAX_TEXT_CHARS} more characters)`,
    );
    expect(entry.error).toBe(
      `${error.slice(0, DLQ_MAX_TEXT_CHARS)}… (${error.length - DLQ_MAX_TEXT_CHARS} more characters)`,
    );
    expect(dlqKey(key)).toBe(entry.key);
    expect(dlqKey('short')).toBe('short');
    expect(dlqKey(null)).toBeNull();
  });

  it('a KGD decision listing 100 000 invalid IMEIs: its DLQ reason names the first 20 and counts the rest', () => {
    const imeis = Array.from({ length: 100_000 }, (_, i) => `junk-${i}`);
    const value = Buffer.from(
      JSON.stringify({
        applicationId: 'KZ-1',
        procedure: '40',
        status: 'released',
        imeis,
        decidedAt: '2026-11-20T09:00:00Z',
      }),
    );
    const problem = testDecoders().problem('decisions', {
      topic: 'kgd.release.decisions',
      partition: 0,
      offset: 1,
      key: Buffer.from('KZ-1'),
      value,
      timestamp: 0,
    });
    expect(problem).toMatch(
      /^release decision lists invalid IMEIs: junk-0: .*; junk-19: [^;]*; and 99980 more$/,
    );
    expect(problem!.split('; ')).toHaveLength(21);
  });

  it('DLQ entries of any value, past the 64 KiB copy limit too', () => {
    fc.assert(
      fc.property(
        fc.record({
          topic: fc.string({ minLength: 1, maxLength: 40 }),
          partition: fc.nat({ max: 10_000 }),
          offset: fc.nat(),
          key: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
        }),
        fc.option(
          fc.oneof(
            fc.uint8Array({ maxLength: 100 }),
            fc
              .integer({ min: DLQ_MAX_ORIGINAL_BYTES - 2, max: DLQ_MAX_ORIGINAL_BYTES + 2 })
              .map((n) => Buffer.alloc(n, 0xab)),
          ),
          { nil: null },
        ),
        fc.string(),
        isoTime,
        (source, original, error, at) => {
          const entry = expectMatches(dlqMessageSchema, dlqMessage(source, original, error, at), 'DLQ entry');
          const size = original?.length ?? 0;
          expect(entry).toMatchObject({
            ...source,
            error,
            valueBytes: size,
            truncated: size > DLQ_MAX_ORIGINAL_BYTES,
            at,
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
