/**
 * Customs codes as KGD's systems and people write them, normalised to the canonical forms the
 * index stores and the topics carry: the two-digit customs procedure and the ten-digit EAEU HS
 * code. The KGD file loader and the release-decision parse both use these, so a spelling
 * accepted on one path is accepted on the other.
 */

import { foldedText, procedureByName } from './kgd-vocabulary.js';

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
 * The direction may precede any of these (`ИМ 40 00 000`). The procedure's name, in Russian or
 * Kazakh, is read as its code too (`PROCEDURE_NAMES` in kgd-vocabulary.ts).
 */
export function normaliseProcedure(text: string): string | Error {
  const compact = text.replace(SPACES, ' ').trim();
  if (compact.length === 0) return new Error('customs procedure code is empty');
  const match = /^(?:(?:ИМ|IM)\s?)?(\d{2})(?:\s?(\d{2})(?:\s?(\d{3}))?)?$/iu.exec(compact);
  if (match === null) {
    const named = procedureByName(compact);
    if (named !== undefined) return named;
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

/**
 * How a device entered Kazakhstan. `customs`: released under a customs declaration, with a
 * customs procedure. `eaeu`: brought in from another member state of the Eurasian Economic
 * Union, where goods cross no customs border and no customs declaration (hence no procedure) is
 * made; seed 000 §4(6) counts such imports among the import operations KGD confirms.
 */
export const IMPORT_KINDS = ['customs', 'eaeu'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/**
 * What marks an import from an EAEU member state, in a procedure cell or an import-kind cell:
 * `ЕАЭС` (Russian), `ЕАЭО` (Kazakh), `EAEU`, `ввоз из ЕАЭС`; any case, spacing or punctuation.
 */
const EAEU_MARKERS = new Set(['ЕАЭС', 'ЕАЭО', 'EAEU', 'ввоз из ЕАЭС'].map(foldedText));
/** An import-kind cell naming the usual case: a customs declaration (ДТ, декларация на товары). */
const CUSTOMS_MARKERS = new Set(
  ['customs', 'таможенная', 'таможенная декларация', 'ДТ', 'декларация на товары'].map(foldedText),
);

/** Whether a procedure or import-kind text says "import from an EAEU member state". */
export function isEaeuMarker(text: string): boolean {
  return EAEU_MARKERS.has(foldedText(text));
}

/** An import-kind cell: undefined when empty (the procedure cell then decides), else the kind or an Error. */
export function parseImportKind(text: string): ImportKind | undefined | Error {
  if (text.trim().length === 0) return undefined;
  if (isEaeuMarker(text)) return 'eaeu';
  if (CUSTOMS_MARKERS.has(foldedText(text))) return 'customs';
  return new Error(
    `import kind ${JSON.stringify(text)} is neither eaeu (ЕАЭС: from an EAEU member state) nor customs (a customs declaration)`,
  );
}

/**
 * The procedure of a decision from its procedure text and, where the source has one, its import
 * kind: the two-digit code, or null for an import from an EAEU member state. An EAEU import is
 * recognised only when it is marked so (`ЕАЭС` as the procedure, or import kind `eaeu`): an
 * empty procedure alone may be a cell left blank by mistake, and is reported.
 */
export function resolveProcedure(
  procedureText: string,
  importKind: ImportKind | undefined,
): string | null | Error {
  const text = procedureText.trim();
  if (isEaeuMarker(text)) {
    if (importKind === 'customs') {
      return new Error(
        `customs procedure ${JSON.stringify(text)} marks an import from an EAEU member state, but the import kind says customs`,
      );
    }
    return null;
  }
  if (importKind === 'eaeu') {
    if (text.length === 0) return null;
    return new Error(
      `an import from an EAEU member state has no customs procedure, but ${JSON.stringify(text)} is given`,
    );
  }
  if (text.length === 0) {
    return new Error(
      'customs procedure code is empty (an import from an EAEU member state, which has none, is marked ЕАЭС instead)',
    );
  }
  return normaliseProcedure(text);
}
