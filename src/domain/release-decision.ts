/**
 * A KGD release decision as it travels on `kgd.release.decisions` (DESIGN.md §4): the zod schema
 * the edge validates with, and the parse that turns a message value into a decision with its
 * IMEIs normalised to bodies (or says why it is not one).
 */
import { z } from 'zod';
import { isValidIinBin } from './ids.js';
import { normaliseImei } from './imei.js';
import { DECLARATION_STATUSES } from './types.js';

// The descriptions go into docs/asyncapi.yaml (scripts/asyncapi-document.ts).
export const releaseDecisionSchema = z
  .object({
    applicationId: z.string().min(1).max(128).describe('The customs application (ID заявки).'),
    procedure: z
      .string()
      .regex(/^\d{2}$/, 'must be a two-digit customs procedure code')
      .describe(
        'Customs procedure code (EAEU classifier): 40, 53, 60 and 94 prove legal entry by default (rules.eligibleProcedures).',
      ),
    status: z
      .enum(DECLARATION_STATUSES)
      .describe('Only released proves legal entry; refused refutes it; revoked withdraws a release.'),
    hsCode: z
      .string()
      .regex(/^\d{10}$/, 'must be a ten-digit EAEU HS code')
      .describe('Ten-digit EAEU HS code of the goods (e.g. 8517130000, smartphones).')
      .nullish(),
    declarantId: z
      .string()
      .refine(isValidIinBin, 'must be a valid IIN/BIN')
      .describe('IIN/BIN of the declarant: 12 digits, the 12th a valid check digit.')
      .nullish(),
    imeis: z
      .array(z.string().max(64))
      .max(100_000)
      .describe(
        'The IMEIs the application lists, in any form a request may use; one that cannot be normalised gets a DLQ entry, the others apply.',
      ),
    decidedAt: z.iso.datetime({ offset: true }).describe('When KGD decided: ISO 8601 with an offset or Z.'),
  })
  .describe("KGD's decision on a customs application (seed 000, appendix 2; seed 002).");

export type ReleaseDecision = z.infer<typeof releaseDecisionSchema>;

export type ParsedDecision =
  | {
      readonly ok: true;
      readonly decision: ReleaseDecision;
      readonly bodies: string[];
      readonly badImeis: string[];
    }
  | { readonly ok: false; readonly error: string };

export function parseReleaseDecision(value: Buffer | null): ParsedDecision {
  if (value === null || value.length === 0) return { ok: false, error: 'empty message value' };
  let decoded: unknown;
  try {
    decoded = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  const result = releaseDecisionSchema.safeParse(decoded);
  if (!result.success) {
    return {
      ok: false,
      error: `invalid release decision: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    };
  }
  const bodies: string[] = [];
  const badImeis: string[] = [];
  for (const imei of result.data.imeis) {
    const normalised = normaliseImei(imei);
    if (normalised.ok) bodies.push(normalised.body);
    else badImeis.push(`${imei}: ${normalised.detail}`);
  }
  return { ok: true, decision: result.data, bodies, badImeis };
}
