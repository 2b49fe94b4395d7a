import { describe, expect, it } from 'vitest';
import { addWorkingDays, toLocalIso } from '../../src/domain/working-day.js';

const astana = { utcOffsetMinutes: 300, holidays: new Set(['2026-12-16']) };
const at = (iso: string) => new Date(iso);

describe('addWorkingDays (Astana time)', () => {
  it('Monday 10:00 → Tuesday 10:00', () => {
    expect(addWorkingDays(at('2026-11-23T10:00:00+05:00'), 1, astana).toISOString()).toBe(
      '2026-11-24T05:00:00.000Z',
    );
  });
  it('Friday 15:00 → Monday 15:00', () => {
    expect(toLocalIso(addWorkingDays(at('2026-11-27T15:00:00+05:00'), 1, astana), 300)).toBe(
      '2026-11-30T15:00:00+05:00',
    );
  });
  it('Saturday counts from Monday midnight', () => {
    expect(toLocalIso(addWorkingDays(at('2026-11-28T10:00:00+05:00'), 1, astana), 300)).toBe(
      '2026-12-01T00:00:00+05:00',
    );
  });
  it('skips a public holiday (Independence Day, 16 December)', () => {
    expect(toLocalIso(addWorkingDays(at('2026-12-15T09:30:00+05:00'), 1, astana), 300)).toBe(
      '2026-12-17T09:30:00+05:00',
    );
  });
  it('a UTC instant late in the evening is already the next local day', () => {
    // 2026-11-27 20:00 UTC is Saturday 01:00 in Astana.
    expect(toLocalIso(addWorkingDays(at('2026-11-27T20:00:00Z'), 1, astana), 300)).toBe(
      '2026-12-01T00:00:00+05:00',
    );
  });
  it('zero days is now, even on a Saturday', () => {
    const now = at('2026-11-28T10:00:00+05:00');
    expect(addWorkingDays(now, 0, astana)).toEqual(now);
  });
});
