/**
 * The accounts' events on `imeiflow.tokens` (DESIGN.md §4: accounts are cluster-wide): their
 * schema and key, how each instance applies them to its table of accounts and certificate
 * holders, and how they are published, signed with the cluster key. Tokens themselves and
 * authentication are src/security/tokens.ts.
 */
import { z } from 'zod';
import { isValidIinBin } from '../domain/ids.js';
import type { OutputSink } from '../pipeline/kafka-port.js';
import type { CertificateRecord, TokenRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { ROLES } from './roles.js';
import type { EventSigner } from './signed-events.js';
import { OPERATOR_CODE } from './tenancy.js';

/** An account's name: what `imeiflow token create --name` accepts. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Why a block was set: inactivity (seed 001 §14), or refused requests (§19). */
export type BlockReason = NonNullable<TokenRecord['blockedFor']>;

const iin = z.string().refine(isValidIinBin, 'must be a 12-digit IIN with a valid check digit');

/**
 * Token changes as events, on the tokens topic (one partition: one order) and applied by every
 * instance, so a token created through any instance works on all, a revoked one is refused by
 * all, and the 60-day idle block counts use on any of them. Keys are `<type>/<name>` (a
 * certificate holder's `<type>/<IIN>`: tokenEventKey): compaction keeps the latest event of each
 * type per account, which is all the state needs.
 */
export const tokenEventSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('create'),
    name: z.string().regex(NAME_PATTERN),
    role: z.enum(ROLES),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    at: z.iso.datetime(),
    /**
     * The operator an `operator` token acts for (src/security/tenancy.ts). Absent in events
     * written before operators were tenants: such an account is unbound and reads no personal data.
     */
    operator: z.string().regex(OPERATOR_CODE).optional(),
  }),
  z.strictObject({ type: z.literal('revoke'), name: z.string().regex(NAME_PATTERN), at: z.iso.datetime() }),
  z.strictObject({
    type: z.literal('block'),
    name: z.string().regex(NAME_PATTERN),
    at: z.iso.datetime(),
    /** Absent in events written before refusals blocked accounts: those were for inactivity. */
    reason: z.enum(['idle', 'refusals']).optional(),
  }),
  /** An admin lifts a block for refused requests (`imeiflow token unblock`). */
  z.strictObject({ type: z.literal('unblock'), name: z.string().regex(NAME_PATTERN), at: z.iso.datetime() }),
  z.strictObject({ type: z.literal('use'), name: z.string().regex(NAME_PATTERN), at: z.iso.datetime() }),
  /**
   * A configured certificate holder the cluster did not know yet: an instance sends it as its
   * control plane starts (after its tables caught up), and only the first one counts. Their idle
   * clock runs from it until a first use, as a token's runs from its creation.
   */
  z.strictObject({ type: z.literal('cert-enrol'), iin, at: z.iso.datetime() }),
  z.strictObject({ type: z.literal('cert-use'), iin, at: z.iso.datetime() }),
  /** Blocked for inactivity (seed 001 §14), on its next use. */
  z.strictObject({ type: z.literal('cert-block'), iin, at: z.iso.datetime() }),
  /** `imeiflow cert revoke IIN`: refused at once on every instance (seed 001 §10). */
  z.strictObject({ type: z.literal('cert-revoke'), iin, at: z.iso.datetime() }),
  /** `imeiflow cert reinstate IIN`: a revocation or an idle block lifted; the idle clock restarts. */
  z.strictObject({ type: z.literal('cert-reinstate'), iin, at: z.iso.datetime() }),
]);
export type TokenEvent = z.infer<typeof tokenEventSchema>;
export type CertificateEvent = Extract<TokenEvent, { iin: string }>;

/** The event's key on the tokens topic: compaction keeps the latest per key. */
export function tokenEventKey(event: TokenEvent): string {
  return 'iin' in event ? `${event.type}/${event.iin}` : `${event.type}/${event.name}`;
}

/** Where certificate holders' states are kept. */
export interface CertificateTable {
  get(iin: string): CertificateRecord | undefined;
  put(record: CertificateRecord): void;
}

/** Where token accounts are kept: LMDB in a service, a map when the CLI reads a cluster's. */
export interface TokenTable {
  get(name: string): TokenRecord | undefined;
  put(record: TokenRecord): void;
  /** Forget which account a hash was (the account got a new token). */
  dropHash(hash: string): void;
  /** Certificate holders; absent: certificate events are passed over (a reader of tokens only). */
  readonly certificates?: CertificateTable;
}

export function lmdbTokenTable(store: Store): TokenTable {
  return {
    get: (name) => store.tokens.get(name),
    put: (record) => {
      store.tokens.put(record.name, record);
      store.tokenHashes.put(record.hash, record.name);
    },
    dropHash: (hash) => void store.tokenHashes.remove(hash),
    certificates: {
      get: (iin) => store.certificates.get(iin),
      put: (record) => void store.certificates.put(record.iin, record),
    },
  };
}

/**
 * Apply a certificate holder's event, in the topic's order like the tokens'. Any event makes the
 * holder known (a revocation may come before the holder's first enrolment). Idempotent.
 */
function applyCertificateEvent(table: CertificateTable, event: CertificateEvent): void {
  const known = table.get(event.iin);
  const record: CertificateRecord = known ?? {
    iin: event.iin,
    enrolledAt: event.at,
    lastUsedAt: null,
    revokedAt: null,
    blockedAt: null,
    reinstatedAt: null,
  };
  switch (event.type) {
    case 'cert-enrol':
      if (known === undefined) table.put(record);
      return;
    case 'cert-use':
      // Uses from several instances interleave: the latest time wins.
      if (record.lastUsedAt !== null && record.lastUsedAt >= event.at) {
        if (known === undefined) table.put(record);
        return;
      }
      table.put({ ...record, lastUsedAt: event.at });
      return;
    case 'cert-block':
      if (record.blockedAt !== null && known !== undefined) return;
      table.put({ ...record, blockedAt: event.at });
      return;
    case 'cert-revoke':
      if (record.revokedAt !== null && known !== undefined) return;
      table.put({ ...record, revokedAt: event.at });
      return;
    case 'cert-reinstate':
      // Compaction keeps the latest `cert-revoke/`, `cert-block/` and `cert-reinstate/` of a
      // holder in their order: whichever came last still decides.
      table.put({ ...record, revokedAt: null, blockedAt: null, reinstatedAt: event.at });
      return;
  }
}

/**
 * Apply one event (in a write transaction for LMDB), in the topic's order — never by the events'
 * clocks, so a revocation from a machine whose clock is behind still revokes. Idempotent.
 */
export function applyTokenEvent(table: TokenTable, event: TokenEvent): void {
  if ('iin' in event) {
    if (table.certificates !== undefined) applyCertificateEvent(table.certificates, event);
    return;
  }
  const record = table.get(event.name);
  switch (event.type) {
    case 'create':
      if (record?.hash === event.hash) return;
      if (record !== undefined) table.dropHash(record.hash);
      table.put({
        name: event.name,
        role: event.role,
        hash: event.hash,
        createdAt: event.at,
        lastUsedAt: null,
        revokedAt: null,
        blockedAt: null,
        // Only an operator acts for an operator; absent otherwise, so the record keeps the
        // shared structure of its shape (src/store/structures.ts).
        ...(event.role === 'operator' && event.operator !== undefined ? { operator: event.operator } : {}),
      });
      return;
    case 'revoke':
      if (record === undefined || record.revokedAt !== null) return;
      table.put({ ...record, revokedAt: event.at });
      return;
    case 'block':
      if (record === undefined || record.blockedAt !== null) return;
      table.put({ ...record, blockedAt: event.at, blockedFor: event.reason ?? 'idle' });
      return;
    case 'unblock': {
      // Only a block for refused requests is lifted: one for inactivity stays (seed 001 §14), and
      // the account gets a new token instead. Compaction keeps the latest `block/` and the latest
      // `unblock/` of an account, in their order: whichever came last still decides.
      if (record === undefined || blockReasonOf(record) !== 'refusals') return;
      const { blockedFor: _lifted, ...rest } = record;
      table.put({ ...rest, blockedAt: null });
      return;
    }
    case 'use':
      // Uses from several instances interleave: the latest time wins.
      if (record === undefined || (record.lastUsedAt !== null && record.lastUsedAt >= event.at)) return;
      table.put({ ...record, lastUsedAt: event.at });
      return;
  }
}

/** Why an account is blocked, or null when it is not. */
export function blockReasonOf(record: TokenRecord): BlockReason | null {
  if (record.blockedAt === null) return null;
  return record.blockedFor ?? 'idle';
}

/** Sends a token event to the cluster; resolves once Kafka has it. */
export type TokenPublisher = (event: TokenEvent) => Promise<void>;

/**
 * A token publisher over imeiflow's producer: every event signed with the cluster key, since
 * every instance refuses one that is not (src/security/signed-events.ts).
 */
export function kafkaTokenPublisher(sink: OutputSink, topic: string, signer: EventSigner): TokenPublisher {
  return async (event) => {
    await sink.send([
      signer.sign('tokens', {
        topic,
        partition: 0,
        key: tokenEventKey(event),
        value: Buffer.from(JSON.stringify(event)),
      }),
    ]);
  };
}
