/**
 * Identifiers of device owners: the Kazakh IIN (individuals) and BIN (businesses), and phone
 * numbers in E.164. Pure and allocation-free; they run once per request on the hot path.
 */

const CODE_0 = 48;
const CODE_9 = 57;
const CODE_PLUS = 43;

/**
 * IIN/BIN check digit: the 12th digit is the sum of the first 11 weighted 1…11, mod 11; when
 * that is 10 the weights become 3…11, 1, 2; when it is 10 again the number cannot be valid.
 */
export function iinBinCheckDigit(id: string): number | undefined {
  if (id.length < 11) return undefined;
  let first = 0;
  let second = 0;
  for (let i = 0; i < 11; i++) {
    const c = id.charCodeAt(i);
    if (c < CODE_0 || c > CODE_9) return undefined;
    const d = c - CODE_0;
    first += d * (i + 1);
    // Second pass weights: 3, 4, …, 11, 1, 2.
    second += d * (((i + 2) % 11) + 1);
  }
  const a = first % 11;
  if (a !== 10) return a;
  const b = second % 11;
  return b === 10 ? undefined : b;
}

/** True when `id` is 12 digits whose last digit is the IIN/BIN check digit. */
export function isValidIinBin(id: string): boolean {
  if (id.length !== 12) return false;
  const c = id.charCodeAt(11);
  if (c < CODE_0 || c > CODE_9) return false;
  const expected = iinBinCheckDigit(id);
  return expected !== undefined && expected === c - CODE_0;
}

/** E.164: '+', a country code that does not start with 0, at most 15 digits in all (min 8). */
export function isE164(msisdn: string): boolean {
  const n = msisdn.length;
  if (n < 9 || n > 16 || msisdn.charCodeAt(0) !== CODE_PLUS) return false;
  const first = msisdn.charCodeAt(1);
  if (first <= CODE_0 || first > CODE_9) return false;
  for (let i = 2; i < n; i++) {
    const c = msisdn.charCodeAt(i);
    if (c < CODE_0 || c > CODE_9) return false;
  }
  return true;
}
