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
