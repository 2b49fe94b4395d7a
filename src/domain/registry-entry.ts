import type { ConfirmationMessage } from './messages.js';
import type { ConfirmedDecision, RegistryEntry } from './types.js';

/** What the registry records for a confirmed decision (DESIGN.md §3, store `registry`). */
export function registryEntryOf(decision: ConfirmedDecision, partition: number, at: string): RegistryEntry {
  return {
    requestId: decision.requestId,
    partition,
    imei: decision.imei,
    ownerId: decision.ownerId,
    msisdn: decision.msisdn,
    evidence: decision.evidence,
    applicationId: decision.applicationId,
    procedure: decision.procedure,
    at,
    operator: decision.operator,
  };
}

/**
 * What a БДИК confirmation (parsed with the contract's schema its writer is typed by,
 * src/domain/outputs.ts) records in the registry: restores and the registry view read it back so
 * (src/pipeline/table-decoders.ts `decodeConfirmationValue`).
 */
export function registryEntryOfConfirmation(c: ConfirmationMessage, partition: number): RegistryEntry {
  return {
    requestId: c.requestId,
    partition,
    imei: c.imei,
    ownerId: c.ownerId,
    msisdn: c.msisdn,
    evidence: c.evidence,
    applicationId: c.applicationId,
    procedure: c.procedure,
    at: c.verifiedAt,
    // Written before confirmations named their operator: unknown.
    operator: c.operator ?? null,
  };
}
