/**
 * БДИК's confirmations read back as the registrations they record, apart from registry-entry.ts so
 * that the verify workers, which write confirmations, do not load zod to do so.
 */
import { confirmationMessageSchema } from './messages.js';
import type { RegistryEntry } from './types.js';

/**
 * A БДИК confirmation read back as the registry entry it records (restores, the registry view):
 * parsed with the contract's schema its writer is typed by (src/domain/outputs.ts). Throws, saying
 * which field, when the value is not one.
 */
export function registryEntryOfConfirmation(value: Uint8Array, partition: number): RegistryEntry {
  const parsed = confirmationMessageSchema.safeParse(JSON.parse(Buffer.from(value).toString('utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `not a БДИК confirmation: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const c = parsed.data;
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
