import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTac, luhnDigit, normaliseImei } from '../../src/domain/imei.js';

/** Luhn as textbooks state it, on strings: the reference the fast code is checked against. */
function referenceLuhnValid(number: string): boolean {
  let sum = 0;
  const digits = number.split('').reverse().map(Number);
  digits.forEach((d, i) => {
    if (i % 2 === 1) {
      const doubled = d * 2;
      sum += doubled > 9 ? doubled - 9 : doubled;
    } else sum += d;
  });
  return sum % 10 === 0;
}

function referenceCheckDigit(body: string): number {
  for (let d = 0; d < 10; d++) if (referenceLuhnValid(body + d)) return d;
  throw new Error('unreachable');
}

const digit = fc.constantFrom(...'0123456789'.split(''));
const digits = (n: number) => fc.array(digit, { minLength: n, maxLength: n }).map((a) => a.join(''));
/** 14-digit bodies whose TAC is not all zeros. */
const body = digits(14).filter((b) => !b.startsWith('00000000'));
const separator = fc.constantFrom(' ', '-', '/', '.', '\t');

describe('luhnDigit', () => {
  it('gives the check digit of the contract example', () => {
    expect(luhnDigit('35209900176148')).toBe(1);
  });

  it('agrees with the textbook Luhn algorithm on random bodies', () => {
    fc.assert(
      fc.property(digits(14), (b) => luhnDigit(b) === referenceCheckDigit(b)),
      { numRuns: 5000 },
    );
  });

  it('refuses anything but 14 digits', () => {
    expect(() => luhnDigit('123')).toThrow(RangeError);
    expect(() => luhnDigit('3520990017614a')).toThrow(RangeError);
  });
});

describe('normaliseImei', () => {
  it('accepts the formatted example and yields the canonical forms', () => {
    expect(normaliseImei('35-209900-176148-1')).toEqual({
      ok: true,
      body: '35209900176148',
      imei: '352099001761481',
      tac: '35209900',
      form: 'imei15',
    });
  });

  it('appends the check digit to 14 digits and takes the body of a 16-digit IMEISV', () => {
    expect(normaliseImei('35209900176148')).toMatchObject({
      ok: true,
      imei: '352099001761481',
      form: 'imei14',
    });
    expect(normaliseImei('3520990017614823')).toMatchObject({
      ok: true,
      imei: '352099001761481',
      form: 'imeisv16',
    });
  });

  describe('network-derived IMEIs: a spare 15th digit 0 (3GPP TS 23.003 §6.2.1)', () => {
    it('is a check-digit mismatch by default', () => {
      expect(normaliseImei('352099001761480')).toEqual({
        ok: false,
        reason: 'luhn_mismatch',
        detail: 'check digit should be 1',
      });
    });
    it('is taken as the 14-digit body when the setting allows it, and БДИК gets the right check digit', () => {
      expect(normaliseImei('352099001761480', true)).toEqual({
        ok: true,
        body: '35209900176148',
        imei: '352099001761481',
        tac: '35209900',
        form: 'imei15-spare',
      });
      expect(normaliseImei('35 209900 176148 0', true)).toMatchObject({
        imei: '352099001761481',
        form: 'imei15-spare',
      });
    });
    it('only a 0 is a spare digit: another wrong digit is still a mismatch', () => {
      expect(normaliseImei('352099001761482', true)).toMatchObject({ ok: false, reason: 'luhn_mismatch' });
    });
    it('a right check digit (0 included) is still an ordinary 15-digit IMEI', () => {
      expect(normaliseImei('352099001761481', true)).toMatchObject({ ok: true, form: 'imei15' });
      expect(normaliseImei('352099001761440', true)).toMatchObject({ ok: true, form: 'imei15' });
    });
    it('the cost: a typo in the body of an IMEI ending in 0 is no longer caught', () => {
      // 352099001761440 is valid; one digit mistyped (4 → 5) makes another device's body.
      expect(normaliseImei('352099001761450')).toMatchObject({ ok: false, reason: 'luhn_mismatch' });
      expect(normaliseImei('352099001761450', true)).toMatchObject({ ok: true, body: '35209900176145' });
    });
  });

  it('names the right check digit on a mismatch', () => {
    expect(normaliseImei('352099001761482')).toEqual({
      ok: false,
      reason: 'luhn_mismatch',
      detail: 'check digit should be 1',
    });
  });

  it.each([
    ['', 'IMEI is empty'],
    ['1234567890123', 'has 13 digits'],
    ['12345678901234567', 'more than 16 digits'],
    ['35209900176148a', 'contains "a"'],
    ['000000001234567', 'TAC is all zeros'],
    ['+352099001761481', 'contains "+"'],
    ['٣٥٢٠٩٩٠٠١٧٦١٤٨١', 'contains'],
    ['1'.repeat(100), '100 characters long'],
  ])('rejects %j as malformed (%s)', (input, detail) => {
    const result = normaliseImei(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe('malformed_imei');
      expect(result.detail).toContain(detail);
    }
  });

  it('15 digits are valid exactly when the textbook Luhn check holds', () => {
    fc.assert(
      fc.property(body, digit, (b, d) => {
        const result = normaliseImei(b + d);
        return result.ok === referenceLuhnValid(b + d) && (result.ok || result.reason === 'luhn_mismatch');
      }),
      { numRuns: 5000 },
    );
  });

  it('separators never change the result', () => {
    fc.assert(
      fc.property(body, fc.array(fc.tuple(fc.nat(14), separator), { maxLength: 5 }), (b, inserts) => {
        const imei = b + referenceCheckDigit(b);
        let formatted = imei;
        for (const [at, sep] of inserts) formatted = formatted.slice(0, at) + sep + formatted.slice(at);
        expect(normaliseImei(formatted)).toEqual(normaliseImei(imei));
      }),
      { numRuns: 2000 },
    );
  });

  it('14, 15 and 16-digit forms of one device agree on body and IMEI', () => {
    fc.assert(
      fc.property(body, digits(2), (b, sv) => {
        const full = b + referenceCheckDigit(b);
        const a = normaliseImei(b);
        const c = normaliseImei(full);
        const d = normaliseImei(b + sv);
        return a.ok && c.ok && d.ok && a.imei === full && c.imei === full && d.imei === full && d.body === b;
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const result = normaliseImei(s);
        return typeof result.ok === 'boolean';
      }),
      { numRuns: 5000 },
    );
  });
});

describe('isTac', () => {
  it('accepts exactly 8 digits', () => {
    expect(isTac('35209900')).toBe(true);
    expect(isTac('3520990')).toBe(false);
    expect(isTac('3520990a')).toBe(false);
  });
});
