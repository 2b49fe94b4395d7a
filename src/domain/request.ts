/**
 * Rule 1: decode a request message and validate its fields.
 *
 * Nothing decodable with a usable requestId → the DLQ (nobody can be answered). Decodable with
 * a requestId but a field wrong → rejected / invalid_request, the detail naming the field.
 * Hand-written rather than zod: this runs once per message on the hot path. It accepts exactly
 * what the contract's `verifyRequestSchema` (messages.ts) accepts: test/unit/messages.test.ts.
 */
import { isUtf8 } from 'node:buffer';
import { unpack } from 'msgpackr';
import { isE164, isValidIinBin } from './ids.js';
import type { Channel, VerifyRequest } from './types.js';

export type ParsedRequest =
  | { readonly kind: 'ok'; readonly request: VerifyRequest }
  | {
      readonly kind: 'invalid';
      readonly requestId: string;
      readonly imei: string;
      readonly detail: string;
      /** The operator it names, when that field is text: its answer goes to that operator's topic. */
      readonly operator: string | null;
    }
  | { readonly kind: 'undecodable'; readonly error: string }
  /**
   * Longer than the limit: not decoded (that is what the limit is for), so the DLQ keeps it; its
   * sender is still answered `invalid_request` when its requestId can be read from its start.
   */
  | { readonly kind: 'oversized'; readonly requestId: string | null; readonly error: string };

/** What validating a decoded value can say (an oversized value is never decoded). */
export type ValidatedRequest = Exclude<ParsedRequest, { readonly kind: 'oversized' }>;

export type ValueEncoding = 'json' | 'msgpack';

export const MAX_REQUEST_ID_LENGTH = 128;
/** The longest operator, ownerId, msisdn, applicationId or submittedAt accepted. */
export const MAX_REQUEST_FIELD_LENGTH = 256;

function undecodable(error: string): ValidatedRequest {
  return { kind: 'undecodable', error };
}

/** Decode the message value into a plain value, or say why it cannot be. */
function decodeValue(
  value: Uint8Array | null,
  encoding: ValueEncoding,
  maxBytes: number,
): { ok: true; value: unknown } | { ok: false; error: string } {
  if (value === null || value.length === 0) return { ok: false, error: 'empty message value' };
  if (value.length > maxBytes)
    return { ok: false, error: `message value is ${value.length} bytes; the limit is ${maxBytes}` };
  if (encoding === 'msgpack') {
    try {
      return { ok: true, value: unpack(value) };
    } catch (error) {
      return { ok: false, error: `not msgpack: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  // Buffer#toString would silently turn bad bytes into U+FFFD and change what we answer to.
  if (!isUtf8(value)) return { ok: false, error: 'not valid UTF-8' };
  const text = Buffer.from(value.buffer, value.byteOffset, value.length).toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function isUsableId(id: unknown): id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_REQUEST_ID_LENGTH) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    // Control characters would make the id unprintable in results, logs and the review page.
    if (c < 32 || c === 127) return false;
  }
  return true;
}

function optionalString(record: Record<string, unknown>, field: string): string | undefined | Error {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return new Error(`${field} must be a string, got ${typeName(value)}`);
  if (value.length === 0) return new Error(`${field} must not be empty`);
  if (value.length > MAX_REQUEST_FIELD_LENGTH)
    return new Error(`${field} is longer than ${MAX_REQUEST_FIELD_LENGTH} characters`);
  return value;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isChannel(value: unknown): value is Channel {
  return value === 'import' || value === 'individual' || value === 'local';
}

/** Validate a decoded request object (also used for dry runs over HTTP). */
export function validateRequest(decoded: unknown): ValidatedRequest {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) {
    return undecodable(`value is ${typeName(decoded)}, not an object`);
  }
  const record = decoded as Record<string, unknown>;
  const requestId = record['requestId'];
  if (!isUsableId(requestId)) {
    return undecodable(
      requestId === undefined
        ? 'requestId is missing'
        : `requestId must be a string of 1 to ${MAX_REQUEST_ID_LENGTH} printable characters`,
    );
  }
  const rawImei = record['imei'];
  const imeiAsSent = typeof rawImei === 'string' ? rawImei.slice(0, 64) : '';
  const rawOperator = record['operator'];
  const invalid = (detail: string): ValidatedRequest => ({
    kind: 'invalid',
    requestId,
    imei: imeiAsSent,
    detail,
    operator: typeof rawOperator === 'string' ? rawOperator : null,
  });

  if (typeof rawImei !== 'string') {
    return invalid(
      rawImei === undefined ? 'imei is missing' : `imei must be a string, got ${typeName(rawImei)}`,
    );
  }
  const operator = record['operator'];
  if (typeof operator !== 'string' || operator.length === 0 || operator.length > MAX_REQUEST_FIELD_LENGTH) {
    return invalid(operator === undefined ? 'operator is missing' : 'operator must be a non-empty string');
  }
  const channel = record['channel'];
  if (!isChannel(channel)) {
    return invalid(
      channel === undefined ? 'channel is missing' : 'channel must be one of import, individual, local',
    );
  }
  const ownerId = optionalString(record, 'ownerId');
  if (ownerId instanceof Error) return invalid(ownerId.message);
  if (ownerId !== undefined && !isValidIinBin(ownerId)) {
    return invalid('ownerId is not a valid IIN/BIN (12 digits with a valid check digit)');
  }
  const msisdn = optionalString(record, 'msisdn');
  if (msisdn instanceof Error) return invalid(msisdn.message);
  if (msisdn !== undefined && !isE164(msisdn)) return invalid('msisdn is not an E.164 number (+7…)');
  const applicationId = optionalString(record, 'applicationId');
  if (applicationId instanceof Error) return invalid(applicationId.message);
  const submittedAt = optionalString(record, 'submittedAt');
  if (submittedAt instanceof Error) return invalid(submittedAt.message);
  if (submittedAt !== undefined && Number.isNaN(Date.parse(submittedAt))) {
    return invalid('submittedAt is not an ISO 8601 timestamp');
  }

  const request: { -readonly [K in keyof VerifyRequest]: VerifyRequest[K] } = {
    requestId,
    imei: rawImei,
    operator,
    channel,
  };
  if (ownerId !== undefined) request.ownerId = ownerId;
  if (msisdn !== undefined) request.msisdn = msisdn;
  if (applicationId !== undefined) request.applicationId = applicationId;
  if (submittedAt !== undefined) request.submittedAt = submittedAt;
  return { kind: 'ok', request };
}

/** Rule 1 for one Kafka message value. */
export function parseRequest(
  value: Uint8Array | null,
  encoding: ValueEncoding,
  maxBytes: number,
): ParsedRequest {
  if (value !== null && value.length > maxBytes) {
    return {
      kind: 'oversized',
      requestId: encoding === 'json' ? requestIdFromStart(value) : null,
      error: `message value is ${value.length} bytes; the limit is ${maxBytes}`,
    };
  }
  const decoded = decodeValue(value, encoding, maxBytes);
  if (!decoded.ok) return undecodable(decoded.error);
  return validateRequest(decoded.value);
}

/** How much of an oversized JSON request is searched for its requestId. */
const ID_SEARCH_BYTES = 4096;

/**
 * The requestId of a JSON request too long to decode, if it is a plain string within the first
 * few kilobytes (where a producer writes it): enough to answer the sender without parsing the rest.
 */
function requestIdFromStart(value: Uint8Array): string | null {
  const head = Buffer.from(value.buffer, value.byteOffset, Math.min(value.length, ID_SEARCH_BYTES)).toString(
    'utf8',
  );
  const match = /"requestId"\s*:\s*"((?:[^"\\]|\\.){1,256})"/.exec(head);
  if (match === null) return null;
  let id: unknown;
  try {
    id = JSON.parse(`"${match[1]}"`);
  } catch {
    return null;
  }
  return isUsableId(id) ? id : null;
}
