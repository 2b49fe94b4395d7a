/**
 * Customs codes as KGD's systems and people write them, normalised to the canonical forms the
 * index stores and the topics carry: the two-digit customs procedure and the ten-digit EAEU HS
 * code. The KGD file loader and the release-decision parse both use these, so a spelling
 * accepted on one path is accepted on the other.
 */

/** Spaces of any kind Excel and KGD exports put between digit groups (NBSP included). */
const SPACES = /[\s\u00a0\u2007\u202f]+/g;

/**
 * A customs procedure → its two-digit code (EAEU classifier of customs procedures, Customs Union
 * Commission decision No. 378), or an Error saying why the text is not one.
 *
 * Accepted, all meaning procedure 40:
 * - `40`: the code itself;
 * - `ИМ40`, `ИМ 40`: with the direction of the declaration (ИМ, import) as in box 1 of a goods
 *   declaration; the Latin `IM` is read the same;
 * - `4000`, `4000000`, `40 00 000`: box 37 of a goods declaration: the procedure, the previous
 *   procedure (2 digits) and the feature of the movement (3 digits). Only the first two digits
 *   are the procedure; the others do not change what proves legal entry (seed 000 §8).
 * The direction may precede any of these (`ИМ 40 00 000`).
 */
export function normaliseProcedure(text: string): string | Error {
  const compact = text.replace(SPACES, ' ').trim();
  if (compact.length === 0) return new Error('customs procedure code is empty');
  const match = /^(?:(?:ИМ|IM)\s?)?(\d{2})(?:\s?(\d{2})(?:\s?(\d{3}))?)?$/iu.exec(compact);
  if (match === null) {
    return new Error(
      `customs procedure ${JSON.stringify(text)} is not a procedure code (40, ИМ 40, 4000, 4000000 or 40 00 000)`,
    );
  }
  const code = match[1]!;
  if (code === '00') return new Error(`customs procedure ${JSON.stringify(text)}: 00 is not a procedure`);
  return code;
}

/**
 * An EAEU HS code (ТН ВЭД ЕАЭС) → its ten digits, or an Error. The seeds write the codes in
 * groups, `8517 13 000 0`; exports also use dots, `8517.13.000.0`. Both are accepted; the
 * digits must be exactly ten (seed 000 appendix 1, seed 003: goods are identified by the
 * ten-digit code).
 */
export function normaliseHsCode(text: string): string | Error {
  const digits = text.replace(SPACES, '').replaceAll('.', '');
  if (/^\d{10}$/.test(digits)) return digits;
  return new Error(`HS code ${JSON.stringify(text)} is not a ten-digit EAEU HS code`);
}
