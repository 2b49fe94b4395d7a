import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { iinBinCheckDigit, isE164, isValidIinBin } from '../../src/domain/ids.js';

/** The IIN/BIN rule as the regulation words it, on arrays. */
function referenceCheck(first11: number[]): number | undefined {
  const a = first11.reduce((sum, d, i) => sum + d * (i + 1), 0) % 11;
  if (a !== 10) return a;
  const weights = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
  const b = first11.reduce((sum, d, i) => sum + d * weights[i]!, 0) % 11;
  return b === 10 ? undefined : b;
}

describe('IIN/BIN', () => {
  it.each(['880101300123', '990340005977'])('accepts %s', (id) => {
    expect(isValidIinBin(id)).toBe(true);
  });

  it.each(['880101300124', '99034000597', '9903400059770', '88010130012a', ''])('rejects %j', (id) => {
    expect(isValidIinBin(id)).toBe(false);
  });

  it('agrees with the regulation on random numbers', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 11, maxLength: 11 }), (d) => {
        const expected = referenceCheck(d);
        expect(iinBinCheckDigit(d.join(''))).toBe(expected);
        for (let last = 0; last < 10; last++) {
          expect(isValidIinBin(d.join('') + last)).toBe(expected === last);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('E.164', () => {
  it.each(['+77011234567', '+4915112345678', '+12025550123'])('accepts %s', (n) => {
    expect(isE164(n)).toBe(true);
  });
  it.each(['87011234567', '+07011234567', '+7701123456789012', '+7 701 123 45 67', '+7701', ''])(
    'rejects %j',
    (n) => {
      expect(isE164(n)).toBe(false);
    },
  );
});
