/**
 * IMEI normalisation and check digits (3GPP TS 23.003, annex B).
 *
 * An IMEI is TAC (8) + serial number (6) + check digit (1); an IMEISV is TAC + serial +
 * a two-digit software version and carries no check digit. The canonical key everywhere in
 * imeiflow is the 14-digit body (TAC + serial); the 15-digit form is what БДИК receives.
 *
 * This runs once per message on the hot path, so it walks char codes into a reused scratch
 * buffer: no regular expressions, no per-digit allocations.
 */

/** `imei15-spare`: 15 digits whose last is a spare 0, not a check digit (see `normaliseImei`). */
export type ImeiForm = 'imei14' | 'imei15' | 'imei15-spare' | 'imeisv16';

export interface NormalisedImei {
  readonly ok: true;
  /** TAC + serial number: the key of every index. */
  readonly body: string;
  /** body + Luhn check digit: the form published to БДИК. */
  readonly imei: string;
  readonly tac: string;
  readonly form: ImeiForm;
}

export interface ImeiProblem {
  readonly ok: false;
  readonly reason: 'malformed_imei' | 'luhn_mismatch';
  readonly detail: string;
}

export type ImeiResult = NormalisedImei | ImeiProblem;

const CODE_0 = 48;
const CODE_9 = 57;
const CODE_SPACE = 32;
const CODE_TAB = 9;
const CODE_DASH = 45;
const CODE_SLASH = 47;
const CODE_DOT = 46;
/** Longer inputs are rejected before any digit is copied, so a 1 MB "IMEI" costs nothing. */
const MAX_INPUT_LENGTH = 64;

// One scratch buffer per thread: the function is synchronous and never re-entered.
const digits = new Uint8Array(16);

/** The Luhn check digit of a 14-digit body given as digit values. */
function luhnOfDigits(d: Uint8Array): number {
  let sum = 0;
  // Positions are counted from the right of the 15-digit IMEI: the check digit is position 1,
  // so the last body digit (index 13) is position 2 and gets doubled.
  for (let i = 0; i < 14; i++) {
    let v = d[i]!;
    if ((i & 1) === 1) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return (10 - (sum % 10)) % 10;
}

/** The Luhn check digit (0–9) of a 14-digit body. Throws on anything that is not 14 digits. */
export function luhnDigit(body: string): number {
  if (body.length !== 14) throw new RangeError(`luhnDigit needs 14 digits, got ${body.length} characters`);
  for (let i = 0; i < 14; i++) {
    const c = body.charCodeAt(i);
    if (c < CODE_0 || c > CODE_9) throw new RangeError('luhnDigit needs digits only');
    digits[i] = c - CODE_0;
  }
  return luhnOfDigits(digits);
}

function describeForProblem(input: string): string {
  return input.length > 32
    ? `${JSON.stringify(input.slice(0, 32))}… (${input.length} characters)`
    : JSON.stringify(input);
}

function malformed(detail: string): ImeiProblem {
  return { ok: false, reason: 'malformed_imei', detail };
}

/**
 * Normalise an IMEI as sent by an operator: drop spaces, tabs, '-', '/', '.'; 14 digits get
 * their Luhn digit appended; 15 digits must carry the right one; 16 digits are an IMEISV and
 * give their first 14. Anything else, or a TAC of all zeros, is malformed.
 *
 * `acceptSpareDigit`: the IMEI may come from network signalling, where the 15th digit is a spare
 * digit set to 0 by the mobile station, not the check digit (3GPP TS 23.003 §6.2.1). Then 15
 * digits ending in 0 that fail the check are taken as their 14-digit body (form
 * `imei15-spare`). The price: for such IMEIs the check digit catches no typo in the body.
 */
export function normaliseImei(input: string, acceptSpareDigit = false): ImeiResult {
  const length = input.length;
  if (length === 0) return malformed('IMEI is empty');
  if (length > MAX_INPUT_LENGTH) return malformed(`IMEI is ${length} characters long`);
  let n = 0;
  let separators = 0;
  for (let i = 0; i < length; i++) {
    const c = input.charCodeAt(i);
    if (c >= CODE_0 && c <= CODE_9) {
      if (n === 16) return malformed(`IMEI ${describeForProblem(input)} has more than 16 digits`);
      digits[n++] = c - CODE_0;
    } else if (c === CODE_SPACE || c === CODE_DASH || c === CODE_SLASH || c === CODE_DOT || c === CODE_TAB) {
      separators++;
    } else {
      return malformed(
        `IMEI ${describeForProblem(input)} contains ${JSON.stringify(input[i])} at position ${i + 1}`,
      );
    }
  }
  if (n !== 14 && n !== 15 && n !== 16) {
    return malformed(`IMEI ${describeForProblem(input)} has ${n} digits; expected 14, 15 or 16`);
  }
  let tacIsZero = true;
  for (let i = 0; i < 8; i++) {
    if (digits[i] !== 0) {
      tacIsZero = false;
      break;
    }
  }
  if (tacIsZero) return malformed('TAC is all zeros');

  // Fast path: an unformatted input already holds the digits in order, so slice instead of
  // rebuilding the string.
  const body = separators === 0 ? input.slice(0, 14) : bodyFromDigits();
  const check = luhnOfDigits(digits);
  const spare = n === 15 && digits[14] !== check && acceptSpareDigit && digits[14] === 0;
  if (n === 15 && digits[14] !== check && !spare) {
    return { ok: false, reason: 'luhn_mismatch', detail: `check digit should be ${check}` };
  }
  const imei = n === 15 && separators === 0 && !spare ? input : body + String.fromCharCode(CODE_0 + check);
  return {
    ok: true,
    body,
    imei,
    tac: body.slice(0, 8),
    form: n === 14 ? 'imei14' : n === 15 ? (spare ? 'imei15-spare' : 'imei15') : 'imeisv16',
  };
}

function bodyFromDigits(): string {
  return String.fromCharCode(
    digits[0]! + CODE_0,
    digits[1]! + CODE_0,
    digits[2]! + CODE_0,
    digits[3]! + CODE_0,
    digits[4]! + CODE_0,
    digits[5]! + CODE_0,
    digits[6]! + CODE_0,
    digits[7]! + CODE_0,
    digits[8]! + CODE_0,
    digits[9]! + CODE_0,
    digits[10]! + CODE_0,
    digits[11]! + CODE_0,
    digits[12]! + CODE_0,
    digits[13]! + CODE_0,
  );
}

/** True when `tac` is exactly 8 ASCII digits (the key of the TAC table). */
export function isTac(tac: string): boolean {
  if (tac.length !== 8) return false;
  for (let i = 0; i < 8; i++) {
    const c = tac.charCodeAt(i);
    if (c < CODE_0 || c > CODE_9) return false;
  }
  return true;
}
