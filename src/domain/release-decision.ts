/**
 * A KGD release decision as it travels on `kgd.release.decisions` (DESIGN.md §4): the zod schema
 * the edge validates with, and the parse that turns a message value into a decision with its
 * IMEIs normalised to bodies (or says why it is not one).
 */
import { z } from 'zod';
import { isValidIinBin } from './ids.js';
import { normaliseImei } from './imei.js';
import { DECLARATION_STATUSES } from './types.js';

export const releaseDecisionSchema = z.object({
  applicationId: z.string().min(1).max(128),
  procedure: z.string().regex(/^\d{2}$/, 'must be a two-digit customs procedure code'),
  status: z.enum(DECLARATION_STATUSES),
  hsCode: z
    .string()
    .regex(/^\d{10}$/, 'must be a ten-digit EAEU HS code')
    .nullish(),
  declarantId: z.string().refine(isValidIinBin, 'must be a valid IIN/BIN').nullish(),
  imeis: z.array(z.string().max(64)).max(100_000),
  decidedAt: z.iso.datetime({ offset: true }),
});

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
