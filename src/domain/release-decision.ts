/**
 * A KGD release decision as it travels on `kgd.release.decisions` (DESIGN.md §4): the zod schema
 * the edge validates with, and the parse that turns a message value into a decision with its
 * IMEIs normalised to bodies (or says why it is not one).
 */
import { z } from 'zod';
import {
  IMPORT_KINDS,
  isEaeuMarker,
  normaliseHsCode,
  normaliseProcedure,
  resolveProcedure,
} from './customs.js';
import { isValidIinBin } from './ids.js';
import { normaliseImei } from './imei.js';
import { parseDeclarationStatus } from './kgd-vocabulary.js';

/** A field read with one of the `customs.ts` normalisers: its canonical form, or an issue. */
function customsCode(normalise: (text: string) => string | Error) {
  return z
    .string()
    .max(64)
    .transform((text, ctx) => {
      const value = normalise(text);
      if (value instanceof Error) {
        ctx.addIssue({ code: 'custom', message: value.message, input: text });
        return z.NEVER;
      }
      return value;
    });
}

/** KGD's grounds for a refusal are prose; longer than this is not grounds but a document. */
export const MAX_GROUNDS_CHARS = 4000;

export const releaseDecisionSchema = z
  .object({
    applicationId: z.string().min(1).max(128),
    /**
     * Any spelling `normaliseProcedure` accepts (`40`, `ИМ 40`, `4000000`…), parsed to two
     * digits; absent, null or `ЕАЭС` for an import from an EAEU member state, parsed to null.
     */
    procedure: z
      .string()
      .max(64)
      .nullish()
      // The spelling is checked here, with the other fields, so one message names every bad
      // field; whether the procedure fits the import kind is checked once the object is whole.
      .superRefine((text, ctx) => {
        const trimmed = text?.trim() ?? '';
        if (trimmed.length === 0 || isEaeuMarker(trimmed)) return;
        const code = normaliseProcedure(trimmed);
        if (code instanceof Error) ctx.addIssue({ code: 'custom', message: code.message, input: text });
      }),
    /** `eaeu`: an import from another EAEU member state, which has no customs procedure (seed 000 §4(6)). */
    importKind: z.enum(IMPORT_KINDS).optional(),
    /** Any spelling of KGD's vocabulary (kgd-vocabulary.ts), parsed to the canonical status. */
    status: z
      .string()
      .max(200)
      .describe(
        "released, refused, revoked, or registered (submitted, in the risk check: nothing decided yet); KGD's Russian and Kazakh spellings are read too (docs/domain.md, KGD's vocabulary)",
      )
      .transform((text, ctx) => {
        const status = parseDeclarationStatus(text);
        if (status instanceof Error) {
          ctx.addIssue({ code: 'custom', message: status.message, input: text });
          return z.NEVER;
        }
        return status;
      }),
    /** Ten digits, or grouped with spaces or dots (`8517 13 000 0`); parsed to ten digits. */
    hsCode: customsCode(normaliseHsCode).nullish(),
    declarantId: z.string().refine(isValidIinBin, 'must be a valid IIN/BIN').nullish(),
    imeis: z.array(z.string().max(64)).max(100_000),
    /** When KGD decided; a KGD export file may not say (null). */
    decidedAt: z.iso.datetime({ offset: true }).nullish(),
    /** KGD's grounds for a refusal or revocation (seed 002 §8(3): a reasoned refusal). */
    grounds: z.string().max(MAX_GROUNDS_CHARS).nullish(),
  })
  .transform(({ importKind, grounds, ...decision }, ctx) => {
    const procedure = resolveProcedure(decision.procedure ?? '', importKind);
    if (procedure instanceof Error) {
      ctx.addIssue({
        code: 'custom',
        message: procedure.message,
        path: ['procedure'],
        input: decision.procedure,
      });
      return z.NEVER;
    }
    const parsed: Omit<typeof decision, 'procedure'> & { procedure: string | null; grounds?: string } = {
      ...decision,
      procedure,
    };
    // Absent rather than empty: an entry without grounds keeps its shared stored shape.
    const text = grounds?.trim() ?? '';
    if (text.length > 0) parsed.grounds = text;
    return parsed;
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
