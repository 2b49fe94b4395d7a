/**
 * Internal topics carry proof (issue 22, point 5). Whoever can write the tokens topic could mint
 * an admin token, whoever can write the audit topic could order a purge, and whoever can write
 * the commands topic could confirm a device over a reviewer's head, withdraw a registration or
 * destroy a device's data: so every event of those three topics is signed with the cluster key
 * (HMAC-SHA-256; src/security/cluster-key.ts), and every reader refuses one that is unsigned or
 * wrongly signed — the global tables pass it, counted and alerted on, and the record validator
 * sends it to the DLQ once per cluster (src/pipeline/table-decoders.ts); a device's owner sends
 * a refused command to the DLQ with its batch, counted (src/pipeline/partition-task.ts).
 *
 * The signature is a header, `imeiflow-signature: v1.<key id>.<MAC, base64url>`, so the value
 * stays what it was (the audit trail's archive, `audit.jsonl`, and older readers see the same
 * JSON). The MAC covers the topic's role (not its name, which configuration may change), the
 * message key (a signed event cannot be moved to another compaction key) and the value.
 *
 * What it does not prove: that an event is new. Someone who can write the topic can write a copy
 * of an event the cluster signed before (docs/control-plane.md says what that can and cannot do);
 * Kafka ACLs that let only imeiflow write these topics remain the first line.
 *
 * Events written before the cluster signed its events: unsigned ones are accepted below a cut-over
 * offset per topic, configured when a cluster is upgraded (`security.unsignedBefore`, 0 by
 * default: none), since a record below it was on the topic before signing began; past it, an
 * unsigned event is refused like a forged one. The commands topic has no cut-over: its commands
 * live minutes, and a cluster is upgraded with every instance stopped (docs/operations.md).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type Kafka from 'node-rdkafka';
import { headerOf, type LogMessage, type OutgoingMessage } from '../pipeline/kafka-port.js';
import type { ClusterKey, ClusterKeys } from './cluster-key.js';

export const SIGNATURE_HEADER = 'imeiflow-signature';

/** The topics whose events are signed. */
export const SIGNED_ROLES = ['tokens', 'audit', 'commands'] as const;
export type SignedRole = (typeof SIGNED_ROLES)[number];

/** Why an event is refused: no signature, or one that does not verify with any listed key. */
export type SignatureProblem = 'unsigned' | 'bad-signature';

export type Verdict =
  /** `keyId` null: an unsigned event below the topic's cut-over, written before signing began. */
  | { readonly ok: true; readonly keyId: string | null }
  | { readonly ok: false; readonly problem: SignatureProblem; readonly error: string };

const VERSION = 'v1';
const SIGNATURE_PATTERN = /^v1\.([0-9a-f]{8})\.([A-Za-z0-9_-]{43})$/;
/** A length that marks an absent key or value (no length can be it: Kafka's limit is far lower). */
const ABSENT = 0xffffffff;

function asBuffer(bytes: string | Buffer | null | undefined): Buffer | null {
  if (bytes === null || bytes === undefined) return null;
  return typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
}

function lengthOf(bytes: Buffer | null): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes === null ? ABSENT : bytes.length);
  return length;
}

/** The MAC of an event: version, role, then key and value each with its length (null apart from empty). */
function macOf(key: ClusterKey, role: SignedRole, messageKey: Buffer | null, value: Buffer | null): Buffer {
  const hmac = createHmac('sha256', key.secret).update(`imeiflow-event ${VERSION}\0${role}\0`);
  hmac.update(lengthOf(messageKey));
  if (messageKey !== null) hmac.update(messageKey);
  hmac.update(lengthOf(value));
  if (value !== null) hmac.update(value);
  return hmac.digest();
}

/** Signs the events imeiflow writes to the signed topics with the first key listed. */
export class EventSigner {
  readonly #key: ClusterKey;

  constructor(keys: Pick<ClusterKeys, 'signing'>) {
    this.#key = keys.signing;
  }

  /** The id of the key new events are signed with. */
  get keyId(): string {
    return this.#key.id;
  }

  /** The signature header's value for an event. */
  signatureOf(role: SignedRole, key: string | Buffer | null, value: Buffer | null): string {
    const mac = macOf(this.#key, role, asBuffer(key), value);
    return `${VERSION}.${this.#key.id}.${mac.toString('base64url')}`;
  }

  /** The message with its signature header (any header it had is kept). */
  sign(role: SignedRole, message: OutgoingMessage): OutgoingMessage {
    const header: Kafka.MessageHeader = {
      [SIGNATURE_HEADER]: this.signatureOf(role, message.key, message.value),
    };
    return { ...message, headers: [...(message.headers ?? []), header] };
  }
}

export interface RecordVerifier {
  verify(role: SignedRole, message: LogMessage): Verdict;
}

/**
 * Offsets (of the one partition) below which an unsigned event was written before signing began;
 * a topic without one (the commands topic) accepts no unsigned event.
 */
export type UnsignedCutOver = Readonly<Partial<Record<SignedRole, number>>>;

function signatureHeaders(message: LogMessage): number {
  return (message.headers ?? []).filter((h) => h[SIGNATURE_HEADER] !== undefined).length;
}

/** Verifies with every key of `keys`; unsigned events pass only below `unsignedBefore`. */
export function clusterVerifier(keys: ClusterKeys, unsignedBefore: UnsignedCutOver): RecordVerifier {
  return {
    verify(role, message) {
      const signature = headerOf(message, SIGNATURE_HEADER);
      if (signature === undefined) {
        if (message.partition === 0 && message.offset < (unsignedBefore[role] ?? 0))
          return { ok: true, keyId: null };
        return {
          ok: false,
          problem: 'unsigned',
          error: `refused: no ${SIGNATURE_HEADER} header (not signed with the cluster key)`,
        };
      }
      const bad = (error: string): Verdict => ({
        ok: false,
        problem: 'bad-signature',
        error: `refused: ${error}`,
      });
      if (signatureHeaders(message) > 1) return bad(`more than one ${SIGNATURE_HEADER} header`);
      const match = SIGNATURE_PATTERN.exec(signature);
      if (match === null) return bad(`a malformed ${SIGNATURE_HEADER} header`);
      const [, keyId, mac] = match as unknown as [string, string, string];
      const key = keys.verifying.get(keyId);
      if (key === undefined) return bad(`signed with key ${keyId}, which ${keys.file} does not list`);
      const expected = macOf(key, role, asBuffer(message.key), message.value ?? null);
      const given = Buffer.from(mac, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        return bad(`the signature does not verify with key ${keyId}: forged or altered`);
      return { ok: true, keyId };
    },
  };
}
