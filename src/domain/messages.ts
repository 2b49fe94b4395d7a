/**
 * The external Kafka contract (DESIGN.md §4) as zod schemas: what a verification request must be
 * to be answered, and the exact shape of every message imeiflow publishes. docs/asyncapi.yaml is
 * generated from these (scripts/asyncapi-document.ts), so document and code cannot drift apart.
 *
 * The hot path does not validate with them: requests are parsed by the hand-written
 * `validateRequest` (request.ts) and outputs are built as JSON by outputs.ts, both for speed.
 * test/unit/messages.test.ts proves on generated inputs that the parser accepts exactly what
 * `verifyRequestSchema` accepts and that every output the code builds matches its schema.
 * The release decision's schema is the one its consumer validates with (release-decision.ts).
 */
import { z } from 'zod';
import { isValidIinBin } from './ids.js';
import { MAX_REQUEST_FIELD_LENGTH, MAX_REQUEST_ID_LENGTH } from './request.js';
import { CHANNELS, EVIDENCE_KINDS, PENDING_REASONS, REJECT_REASONS, REVIEW_REASONS } from './types.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: it names control characters to exclude them.
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;

/** A requestId imeiflow can answer to; a request without one goes to the DLQ (rule 1). */
export const requestIdSchema = z
  .string()
  .min(1)
  .max(MAX_REQUEST_ID_LENGTH)
  .regex(PRINTABLE, 'must not contain control characters')
  .describe(
    `The operator's id of the request, echoed in every result: 1 to ${MAX_REQUEST_ID_LENGTH} characters (UTF-16 code units), no control characters.`,
  );

const text = (description: string) => z.string().min(1).max(MAX_REQUEST_FIELD_LENGTH).describe(description);

const iinBin = z
  .string()
  .regex(/^\d{12}$/, 'must be 12 digits')
  .refine(isValidIinBin, 'must have a valid IIN/BIN check digit')
  .describe('IIN/BIN of the owner: 12 digits, the 12th a valid check digit.');

const e164 = z
  .string()
  .regex(/^\+[1-9]\d{7,14}$/, 'must be an E.164 number')
  .describe('Phone number in E.164: "+", then 8 to 15 digits, the first not 0 (e.g. +77011234567).');

const imei15 = z.string().regex(/^\d{15}$/, 'must be a 15-digit IMEI');
const timestamp = z.iso.datetime().describe('UTC, ISO 8601 (Date#toISOString).');

/**
 * `imei.verify.requests`: a request imeiflow decides. A decodable object with a usable
 * requestId but another field wrong is answered `rejected` / `invalid_request`; anything else
 * goes to the DLQ. Unknown fields are ignored; null counts as absent for the optional ones.
 */
export const verifyRequestSchema = z
  .object({
    requestId: requestIdSchema,
    imei: z
      .string()
      .describe(
        'The IMEI as the operator has it: 14, 15 or 16 (IMEISV) digits; spaces, "-", "/" and "." are ignored. ' +
          'Any string is accepted here; one that is not an IMEI is answered rejected / malformed_imei or luhn_mismatch.',
      ),
    operator: text('The operator sending the request (e.g. beeline).'),
    channel: z
      .enum(CHANNELS)
      .describe(
        'import: brought in by an importer; individual: brought in by a person; local: produced or repaired in Kazakhstan.',
      ),
    ownerId: iinBin.nullish(),
    msisdn: e164.nullish(),
    applicationId: text('The KGD application (ID заявки) the device was declared under.').nullish(),
    submittedAt: text('When the operator took the registration: an ISO 8601 timestamp.')
      .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 timestamp')
      .nullish(),
  })
  .describe('A device registration to verify.');

/** What makes a request answerable at all (rule 1): an object with a usable requestId. */
export const answerableRequestSchema = z.object({ requestId: requestIdSchema });

const detail = z.string().describe('Why, in words: which rule decided and on what evidence.');
const resultBase = { requestId: requestIdSchema, detail, at: timestamp };

/** `imei.verify.results`, key the requestId: every outcome of a request. */
export const resultMessageSchema = z
  .discriminatedUnion('outcome', [
    z.strictObject({
      ...resultBase,
      imei: imei15,
      outcome: z.literal('confirmed'),
      reason: z.null(),
      evidence: z.enum(EVIDENCE_KINDS),
    }),
    z.strictObject({
      ...resultBase,
      imei: z
        .string()
        .describe(
          'The 15-digit IMEI when the request had one, else the IMEI as sent (at most 64 characters when invalid_request).',
        ),
      outcome: z.literal('rejected'),
      reason: z.enum(REJECT_REASONS),
      grounds: z
        .string()
        .nullable()
        .optional()
        .describe(
          "On declaration_refused only: KGD's grounds for the refusal or revocation (seeds 002, 003), null when KGD gave none.",
        ),
    }),
    z.strictObject({
      ...resultBase,
      imei: imei15,
      outcome: z.literal('pending'),
      reason: z.enum(PENDING_REASONS),
    }),
    z.strictObject({
      ...resultBase,
      imei: imei15,
      outcome: z.literal('review'),
      reason: z.enum(REVIEW_REASONS),
    }),
  ])
  .describe(
    'One outcome of a request: pending and review may come first; exactly one final confirmed or rejected follows.',
  );

/** `bdik.confirmations`, key the 15-digit IMEI: one per verified device. */
export const confirmationMessageSchema = z
  .strictObject({
    requestId: requestIdSchema,
    imei: imei15,
    tac: z.string().regex(/^\d{8}$/, 'must be an 8-digit TAC'),
    brand: z
      .string()
      .describe('From the GSMA TAC table ("Unknown" when a reviewer confirmed an unknown TAC).'),
    model: z.string(),
    deviceType: z.string().describe('GSMA device type: Smartphone, Tablet, Feature phone…'),
    ownerId: iinBin.nullable(),
    msisdn: e164.nullable(),
    evidence: z
      .enum(EVIDENCE_KINDS)
      .describe('kgd-release: a KGD release decision; manual: a reviewer; local-production: a local record.'),
    applicationId: z.string().nullable(),
    procedure: z
      .string()
      .regex(/^\d{2}$/, 'must be a two-digit customs procedure code')
      .nullable(),
    operator: text(
      'The operator whose request registered the device (its `operator`). Absent only from confirmations written before imeiflow recorded it (December 2026).',
    ).optional(),
    verifiedAt: timestamp,
  })
  .describe('A verified device for БДИК.');

/** A БДИК confirmation as written (src/domain/outputs.ts) and read back (src/domain/registry-entry.ts). */
export type ConfirmationMessage = z.infer<typeof confirmationMessageSchema>;

/** `bdik.revocations`, key the 15-digit IMEI: a confirmation БДИК must withdraw (rule 9). */
export const revocationMessageSchema = z
  .strictObject({
    imei: imei15,
    requestId: requestIdSchema.describe('The request whose confirmation is withdrawn.'),
    applicationId: z.string().min(1).describe('The application whose release decision KGD revoked.'),
    ownerId: iinBin.nullable(),
    msisdn: e164.nullable(),
    reason: z.string().min(1),
    revokedAt: timestamp,
  })
  .describe('A confirmation withdrawn because KGD revoked the release decision it rested on.');

/** `imei.verify.dlq`, key the source message's key: what could not be decoded or answered. */
export const dlqMessageSchema = z
  .strictObject({
    topic: z.string().describe('Where the message was read.'),
    partition: z.number().int().min(0),
    offset: z.number().int().min(0),
    key: z
      .string()
      .nullable()
      .describe('The source message’s key: its first 4 096 characters, then how many more there were.'),
    error: z
      .string()
      .describe('Why it was not answered: its first 4 096 characters, then how many more there were.'),
    value: z
      .base64()
      .nullable()
      .describe('The original value, base64, its first 64 KiB; null when it had none.'),
    valueBytes: z.number().int().min(0).describe('The size of the whole original value.'),
    truncated: z.boolean().describe('true when value holds only the first 64 KiB.'),
    at: timestamp,
  })
  .describe('A message imeiflow could not decode or answer, with its source position.');
