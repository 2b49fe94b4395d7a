/**
 * One decoder per topic read into a table (the global tables' and the registry view's, both read
 * by table-reader.ts): what a message of that topic must be for a table to apply it. The reader
 * skips what does not decode and counts it; the record validator (record-validator.ts) sends it to
 * the DLQ once per cluster, with its topic, partition, offset and the reason. Nothing on an
 * internal topic can stop an instance: a record nobody can read is passed, never retried (issue 20).
 *
 * Tombstones (a null value) are records too where the topic is compacted by key: they remove.
 *
 * The tokens and audit topics grant access and order purges: their decoders also verify each
 * event's signature with the cluster key (src/security/signed-events.ts), so they are built with
 * a verifier (`tableDecoders`) where the tables and the validator are. A well-formed event that
 * is unsigned or wrongly signed is refused (`refused` says why): passed and sent to the DLQ like an
 * unreadable record, but counted and alerted on apart, as a forgery.
 */
import { z } from 'zod';
import { confirmationMessageSchema } from '../domain/messages.js';
import { registryEntryOfConfirmation } from '../domain/registry-entry.js';
import { type ParsedDecision, parseReleaseDecision } from '../domain/release-decision.js';
import type { BlockEntry, LocalProductionRecord, RegistryEntry, TacRecord } from '../domain/types.js';
import type { TopicRoleName } from '../kafka/topic-roles.js';
import { bodyOfPendingKey } from '../pool/batch-writer.js';
import type { RecordVerifier, SignatureProblem, SignedRole } from '../security/signed-events.js';
import { type TokenEvent, tokenEventSchema } from '../security/token-events.js';
import { kgdExportKey, kgdExportRecordSchema } from '../store/kgd-exports.js';
import type { AuditEntry, KgdExportRecord, PendingEntry } from '../store/records.js';
import { decodePendingRecord } from '../store/state-codec.js';
import type { TopicSeal } from '../store/topic-seal.js';
import { keyOf, type LogMessage } from './kafka-port.js';

export type Decoded<V> =
  | { readonly ok: true; readonly value: V }
  | {
      readonly ok: false;
      readonly error: string;
      /** Set when the record reads but is not signed with the cluster key: refused as forged. */
      readonly refused?: SignatureProblem;
    };

/** A keyed record of a compacted table; `value` null is a tombstone. */
export interface Keyed<V> {
  readonly key: string;
  readonly value: V | null;
}

const nullableString = z.string().nullable();

/** The JSON the loaders write to the TAC topic (src/loaders/cluster-sinks.ts). */
export const tacRecordSchema = z.object({
  tac: z.string().regex(/^\d{8}$/),
  brand: z.string(),
  model: z.string(),
  marketingName: z.string(),
  manufacturer: z.string(),
  deviceType: z.string(),
  operatingSystem: z.string(),
  bands: z.string(),
  allocationDate: nullableString,
}) satisfies z.ZodType<TacRecord>;

export const blockEntrySchema = z.object({
  source: z.string(),
  reason: z.string(),
  since: nullableString,
}) satisfies z.ZodType<BlockEntry>;

export const localProductionRecordSchema = z.object({
  producerId: z.string(),
  reference: z.string(),
  producedAt: nullableString,
}) satisfies z.ZodType<LocalProductionRecord>;

export const auditEntrySchema = z.object({
  at: z.iso.datetime({ offset: true }),
  atAstana: z.string(),
  actor: z.string().min(1),
  role: z.string().min(1),
  action: z.string().min(1),
  basis: nullableString,
  target: nullableString,
}) satisfies z.ZodType<AuditEntry>;

function fail<V>(error: string): Decoded<V> {
  return { ok: false, error };
}

/** JSON text checked against a schema; the error names the first problems. */
function jsonRecord<V>(value: Buffer | null, schema: z.ZodType<V>): Decoded<V> {
  if (value === null) return fail('empty value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return fail(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = schema.safeParse(parsed);
  if (result.success) return { ok: true, value: result.data };
  return fail(
    result.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; '),
  );
}

/**
 * A record of a table keyed by `keyPattern`: a key that fits it, and a value `decodeValue` reads
 * (null: the record removes, as a tombstone does) or a tombstone.
 */
function keyed<V>(
  m: LogMessage,
  keyPattern: RegExp,
  decodeValue: (value: Buffer) => Decoded<V | null>,
): Decoded<Keyed<V>> {
  const key = keyOf(m);
  if (key === null || !keyPattern.test(key))
    return fail(`key ${JSON.stringify(key)} does not fit ${keyPattern}`);
  if (m.value === null) return { ok: true, value: { key, value: null } };
  const value = decodeValue(m.value);
  return value.ok ? { ok: true, value: { key, value: value.value } } : value;
}

/** A keyed record whose value is JSON of `schema`. */
function keyedRecord<V>(m: LogMessage, keyPattern: RegExp, schema: z.ZodType<V>): Decoded<Keyed<V>> {
  return keyed(m, keyPattern, (value) => jsonRecord(value, schema));
}

const BODY_KEY = /^\d{14}$/;

export const decodeTac = (m: LogMessage) => keyedRecord(m, /^\d{8}$/, tacRecordSchema);
export const decodeBlockEntry = (m: LogMessage) => keyedRecord(m, BODY_KEY, blockEntrySchema);
export const decodeLocalProduction = (m: LogMessage) => keyedRecord(m, BODY_KEY, localProductionRecordSchema);

export function decodeDecision(m: LogMessage): Decoded<ParsedDecision & { ok: true }> {
  const parsed = parseReleaseDecision(m.value);
  return parsed.ok ? { ok: true, value: parsed } : fail(parsed.error);
}

/** The pending changelog's decoder: its records are sealed under the topic key (`seal` opens them). */
export function pendingChangelogDecoder(
  seal: TopicSeal | undefined,
): (m: LogMessage) => Decoded<Keyed<PendingEntry[]>> {
  return (m) => {
    const body = bodyOfPendingKey(keyOf(m) ?? '');
    if (body === undefined) return fail(`key ${JSON.stringify(keyOf(m))} is not a pending changelog key`);
    if (m.value === null) return { ok: true, value: { key: body, value: null } };
    try {
      return { ok: true, value: { key: body, value: decodePendingRecord(m.value, seal) } };
    } catch (error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
  };
}

export function decodeKgdExport(m: LogMessage): Decoded<Keyed<KgdExportRecord>> {
  const key = keyOf(m);
  if (key === null) return fail('no key');
  if (m.value === null) return { ok: true, value: { key, value: null } };
  const record = jsonRecord(m.value, kgdExportRecordSchema);
  if (!record.ok) return record;
  if (key !== kgdExportKey(record.value.month))
    return fail(`key ${key} is not the record's month ${kgdExportKey(record.value.month)}`);
  return { ok: true, value: { key, value: record.value } };
}

const IMEI_KEY = /^\d{15}$/;

/**
 * A БДИК confirmation read back as the registration it records (restores, the registry view),
 * with the contract's schema its writer is typed by.
 */
export function decodeConfirmationValue(value: Buffer, partition: number): Decoded<RegistryEntry> {
  const message = jsonRecord(value, confirmationMessageSchema);
  if (!message.ok) return fail(`not a БДИК confirmation: ${message.error}`);
  return { ok: true, value: registryEntryOfConfirmation(message.value, partition) };
}

/**
 * БДИК's confirmations read back (the registry view): the registration it records, or, for a
 * tombstone, none. Key: the 15-digit IMEI.
 */
export const decodeConfirmation = (m: LogMessage): Decoded<Keyed<RegistryEntry>> =>
  keyed(m, IMEI_KEY, (value) => decodeConfirmationValue(value, m.partition));

/** БДИК's revocations read back (the registry view): whatever it holds, the device's registration goes. */
export const decodeRevocation = (m: LogMessage): Decoded<Keyed<RegistryEntry>> =>
  keyed<RegistryEntry>(m, IMEI_KEY, () => ({ ok: true, value: null }));

/** What a record of a signed topic says, before its signature is checked. */
const readTokenEvent = (m: LogMessage): Decoded<TokenEvent> => jsonRecord(m.value, tokenEventSchema);
const readAuditEntry = (m: LogMessage): Decoded<AuditEntry> => jsonRecord(m.value, auditEntrySchema);

/**
 * A signed topic's decoder: the record must read, then carry the cluster key's signature. What it
 * says is read first, so a record that is not an event at all stays `unreadable`, and `refused`
 * is kept for events that would have been applied.
 */
function verified<V>(
  role: SignedRole,
  read: (m: LogMessage) => Decoded<V>,
  verifier: RecordVerifier,
): (m: LogMessage) => Decoded<V> {
  return (m) => {
    const decoded = read(m);
    if (!decoded.ok) return decoded;
    const verdict = verifier.verify(role, m);
    return verdict.ok ? decoded : { ok: false, error: verdict.error, refused: verdict.problem };
  };
}

/**
 * The decoders of the table topics that are not signed (the decisions' is `decodeDecision`): the
 * global tables', and БДИК's changelog the registry view reads.
 */
const PLAIN_DECODERS = {
  tac: decodeTac,
  blocklist: decodeBlockEntry,
  localProduction: decodeLocalProduction,
  exports: decodeKgdExport,
  confirmations: decodeConfirmation,
  revocations: decodeRevocation,
} as const satisfies Partial<Record<TopicRoleName, (m: LogMessage) => Decoded<unknown>>>;

/** Every table topic's decoder, the signed topics' verifying with one verifier. */
export interface TableDecoders {
  readonly tokens: (m: LogMessage) => Decoded<TokenEvent>;
  readonly audit: (m: LogMessage) => Decoded<AuditEntry>;
  readonly pendingChangelog: (m: LogMessage) => Decoded<Keyed<PendingEntry[]>>;
  /**
   * Why a message of a table topic is unusable, or undefined when a table can apply it:
   * what the record validator sends to the DLQ. A release decision that lists some invalid IMEIs
   * is applied for the others, and still reported.
   */
  problem(role: TopicRoleName, m: LogMessage): string | undefined;
}

/** `seal`: opens the pending changelog's sealed records (without it, only unsealed ones read). */
/** The invalid IMEIs a release decision's DLQ entry names; it counts the rest. */
const SHOWN_BAD_IMEIS = 20;

export function tableDecoders(verifier: RecordVerifier, seal?: TopicSeal): TableDecoders {
  const tokens = verified('tokens', readTokenEvent, verifier);
  const audit = verified('audit', readAuditEntry, verifier);
  const pendingChangelog = pendingChangelogDecoder(seal);
  const byRole: Partial<Record<TopicRoleName, (m: LogMessage) => Decoded<unknown>>> = {
    ...PLAIN_DECODERS,
    pendingChangelog,
    tokens,
    audit,
  };
  return {
    tokens,
    audit,
    pendingChangelog,
    problem(role, m) {
      if (role === 'decisions') {
        const decision = decodeDecision(m);
        if (!decision.ok) return decision.error;
        const { badImeis } = decision.value;
        if (badImeis.length === 0) return undefined;
        const more = badImeis.length - SHOWN_BAD_IMEIS;
        return `release decision lists invalid IMEIs: ${badImeis.slice(0, SHOWN_BAD_IMEIS).join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
      }
      const decoded = byRole[role]?.(m);
      return decoded === undefined || decoded.ok ? undefined : decoded.error;
    },
  };
}

/** Every table topic the validator watches: the global tables' and the registry view's. */
export const VALIDATED_ROLES: readonly TopicRoleName[] = [
  'decisions',
  ...(Object.keys(PLAIN_DECODERS) as TopicRoleName[]),
  'pendingChangelog',
  'tokens',
  'audit',
];
