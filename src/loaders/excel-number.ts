/**
 * A number from an Excel cell as the digits a person sees, given the cell's number format.
 *
 * People type IMEIs and TACs into Excel, which stores them as numbers: the leading 0 of
 * `013263001234565` is gone from the value, and only the number format (`000000000000000`,
 * fifteen zero placeholders) brings it back on screen. Reading the value alone would give 14
 * digits, which the IMEI rules take for a body and give a new check digit: another device.
 */

/**
 * How many digits the integer part of a number format shows at least: its `0` placeholders
 * before the decimal point, in the first section (the one for positive numbers). `General`,
 * `@`, `#,##0` and no format at all show no leading zeros.
 */
export function minIntegerDigits(numFmt: string | undefined): number {
  if (numFmt === undefined) return 0;
  let zeros = 0;
  for (let i = 0; i < numFmt.length; i++) {
    const c = numFmt[i];
    if (c === ';' || c === '.' || c === 'E' || c === 'e') break;
    if (c === '"') {
      // A quoted literal: "IMEI "0.
      const close = numFmt.indexOf('"', i + 1);
      if (close === -1) break;
      i = close;
    } else if (c === '[') {
      // A colour, condition or locale: [Red], [>0], [$-419].
      const close = numFmt.indexOf(']', i + 1);
      if (close === -1) break;
      i = close;
    } else if (c === '\\' || c === '_' || c === '*') {
      // An escaped character, a space the width of the next one, a fill character.
      i++;
    } else if (c === '0') {
      zeros++;
    }
  }
  return zeros;
}

/**
 * The text a cell holding `value` shows. Whole numbers are written out in full (never `1.3e14`)
 * and padded with the zeros the format shows; other numbers as JavaScript writes them.
 */
export function numberAsShown(value: number, numFmt: string | undefined): string {
  if (!Number.isInteger(value)) return String(value);
  // An integer double prints exactly as a BigInt: beyond 2^53 these are the digits the double
  // holds, not necessarily those typed (callers needing exact digits check `isSafeInteger`).
  const digits = BigInt(Math.abs(value)).toString().padStart(minIntegerDigits(numFmt), '0');
  return value < 0 ? `-${digits}` : digits;
}
