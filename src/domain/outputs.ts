/**
 * The output messages of the contract (DESIGN.md §4), built as JSON bytes. Workers build them
 * for the messages they decide, so the main thread only forwards bytes to Kafka; the main thread
 * uses the same builders for outcomes reached by commands.
 */
import { type CustomsView, decisionInView } from './customs-view.js';
import type { ConfirmationMessage } from './messages.js';
import type { ConfirmedDecision, Decision } from './types.js';

/** Values above this are not copied whole into a DLQ entry; the source position finds them. */
export const DLQ_MAX_ORIGINAL_BYTES = 64 * 1024;
/**
 * A DLQ entry's key and error keep at most this many characters, and say how many more there
 * were: they are for a person to read, and input shapes both (a key of 900 KB, a KGD decision
 * listing 100 000 bad IMEIs made an entry of 15 MiB, over what the producer sends).
 */
export const DLQ_MAX_TEXT_CHARS = 4096;

/** `text`, or its first DLQ_MAX_TEXT_CHARS characters and how many more there were. */
function shortened(text: string): string {
  if (text.length <= DLQ_MAX_TEXT_CHARS) return text;
  return `${text.slice(0, DLQ_MAX_TEXT_CHARS)}… (${text.length - DLQ_MAX_TEXT_CHARS} more characters)`;
}

/** The key a DLQ entry is written under and names: the source's, shortened. */
export function dlqKey(key: string | null): string | null {
  return key === null ? null : shortened(key);
}

/**
 * Each message comes as JSON text (`…Json`), which a worker writes straight into its batch's
 * outputs section, and as bytes (`…Message`) for whoever produces one message at a time.
 */
function bytes(json: string): Uint8Array {
  // Buffer.from carves small strings out of a shared pool; TextEncoder allocates an ArrayBuffer
  // per message (measured: +10 % verifications/s per worker).
  return Buffer.from(json, 'utf8');
}

/** `imei.verify.results`, key requestId: one per outcome (pending and review included). */
export function resultMessage(decision: Decision, at: string, view: ResultView = 'full'): Uint8Array {
  return bytes(resultJson(decision, at, view));
}

/**
 * How much customs data a result carries: `reduced` (the operators' default) says why the device
 * is or is not verified without KGD's application, procedure or grounds (domain/customs-view.ts).
 */
export type ResultView = Exclude<CustomsView, 'none'>;

export function resultJson(decision: Decision, at: string, view: ResultView = 'full'): string {
  const shown = view === 'full' ? decision : decisionInView(view, decision);
  if (shown.outcome === 'confirmed') {
    return JSON.stringify({
      requestId: shown.requestId,
      imei: shown.imei,
      outcome: 'confirmed',
      reason: null,
      evidence: shown.evidence,
      detail: shown.detail,
      at,
    });
  }
  if (view === 'full' && decision.outcome === 'rejected' && decision.reason === 'declaration_refused') {
    // KGD's grounds, machine-readable beside the detail (null when KGD gave none): what the
    // operator tells the subscriber (seed 002 §8(3), a reasoned refusal).
    return JSON.stringify({
      requestId: decision.requestId,
      imei: decision.imei,
      outcome: decision.outcome,
      reason: decision.reason,
      detail: decision.detail,
      grounds: decision.grounds ?? null,
      at,
    });
  }
  return JSON.stringify({
    requestId: shown.requestId,
    imei: shown.imei,
    outcome: shown.outcome,
    reason: shown.reason,
    detail: shown.detail,
    at,
  });
}

/** `bdik.confirmations`, key the 15-digit IMEI: one per verified device. */
export function confirmationMessage(decision: ConfirmedDecision, verifiedAt: string): Uint8Array {
  return bytes(confirmationJson(decision, verifiedAt));
}

export function confirmationJson(decision: ConfirmedDecision, verifiedAt: string): string {
  // The contract's own type: the reader (registry-entry.ts) parses it with the same schema.
  const message: ConfirmationMessage = {
    requestId: decision.requestId,
    imei: decision.imei,
    tac: decision.device.tac,
    brand: decision.device.brand,
    model: decision.device.model,
    deviceType: decision.device.deviceType,
    ownerId: decision.ownerId,
    msisdn: decision.msisdn,
    evidence: decision.evidence,
    applicationId: decision.applicationId,
    procedure: decision.procedure,
    operator: decision.operator,
    verifiedAt,
  };
  return JSON.stringify(message);
}

export interface DlqSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
}

/** `imei.verify.dlq`: what could not be decoded or answered, with the original bytes. */
export function dlqMessage(
  source: DlqSource,
  original: Uint8Array | null,
  error: string,
  at: string,
): Uint8Array {
  const size = original?.length ?? 0;
  const kept = original === null ? null : original.subarray(0, DLQ_MAX_ORIGINAL_BYTES);
  return bytes(
    JSON.stringify({
      topic: source.topic,
      partition: source.partition,
      offset: source.offset,
      key: dlqKey(source.key),
      error: shortened(error),
      value: kept === null ? null : Buffer.from(kept.buffer, kept.byteOffset, kept.length).toString('base64'),
      valueBytes: size,
      truncated: size > DLQ_MAX_ORIGINAL_BYTES,
      at,
    }),
  );
}

export interface Revocation {
  readonly imei: string;
  readonly requestId: string;
  readonly applicationId: string;
  readonly ownerId: string | null;
  readonly msisdn: string | null;
  readonly reason: string;
  readonly revokedAt: string;
}

/** `bdik.revocations`, key the 15-digit IMEI: a confirmation БДИК must withdraw (rule 9). */
export function revocationMessage(revocation: Revocation): Uint8Array {
  return bytes(JSON.stringify(revocation));
}
