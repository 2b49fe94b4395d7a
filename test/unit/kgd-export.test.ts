import { describe, expect, it } from 'vitest';
import {
  addMonths,
  dueExportMonth,
  exportDueBy,
  exportMonthOf,
  type MonthTally,
  monthHasEnded,
  monthOfInstant,
  monthTimestamp,
  parseYearMonth,
} from '../../src/domain/kgd-export.js';

const ASTANA = 300;
const at = (iso: string) => new Date(iso);
const tally = (months: Record<string, number>, undated = 0): MonthTally => ({
  months: new Map(Object.entries(months)),
  undated,
});
/** A moment well after every month these tests name. */
const LATER = at('2026-12-20T12:00:00+05:00');

describe('months', () => {
  it('parses YYYY-MM and refuses anything else', () => {
    expect(parseYearMonth('2026-03')).toBe('2026-03');
    expect(parseYearMonth(' 2026-12 ')).toBe('2026-12');
    for (const bad of ['2026-13', '2026-00', '2026-3', '03.2026', '2026-03-01', '', '1999-12'])
      expect(parseYearMonth(bad), bad).toBeInstanceOf(Error);
  });

  it('takes the month of an instant in Astana time', () => {
    // 31 March 20:00 UTC is 1 April 01:00 in Astana.
    expect(monthOfInstant(at('2026-03-31T20:00:00Z'), ASTANA)).toBe('2026-04');
    expect(monthOfInstant(at('2026-03-31T18:59:59Z'), ASTANA)).toBe('2026-03');
    expect(monthOfInstant(at('2026-12-31T19:00:00Z'), ASTANA)).toBe('2027-01');
    expect(monthOfInstant(at('2026-12-31T19:00:00Z'), 0)).toBe('2026-12');
  });

  it('adds months across year ends', () => {
    expect(addMonths('2026-01', -1)).toBe('2025-12');
    expect(addMonths('2026-01', -2)).toBe('2025-11');
    expect(addMonths('2026-12', 1)).toBe('2027-01');
    expect(addMonths('2026-06', 0)).toBe('2026-06');
  });

  it('labels a month by 00:00 UTC on its first day', () => {
    expect(monthTimestamp('2026-03').toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(monthTimestamp('2025-12').getTime() / 1000).toBe(1764547200);
  });

  it("a month's export is late from 00:00 on the 6th of the next month, Astana time", () => {
    expect(exportDueBy('2026-03', ASTANA).toISOString()).toBe('2026-04-05T19:00:00.000Z');
    expect(exportDueBy('2026-12', ASTANA).toISOString()).toBe('2027-01-05T19:00:00.000Z');
  });

  it('a month has ended once the next has begun in Astana', () => {
    expect(monthHasEnded('2026-03', at('2026-03-31T18:59:59Z'), ASTANA)).toBe(false);
    expect(monthHasEnded('2026-03', at('2026-03-31T19:00:00Z'), ASTANA)).toBe(true);
    expect(monthHasEnded('2026-04', at('2026-03-31T19:00:00Z'), ASTANA)).toBe(false);
  });
});

describe('dueExportMonth: the export that should be loaded by now (seed 000 §11: by the 5th)', () => {
  const due = (iso: string) => dueExportMonth(at(iso), ASTANA);

  it('through the 5th, the month before last; from the 6th, last month', () => {
    expect(due('2026-04-01T00:00:00+05:00')).toBe('2026-02');
    expect(due('2026-04-05T23:59:59+05:00')).toBe('2026-02');
    expect(due('2026-04-06T00:00:00+05:00')).toBe('2026-03');
    expect(due('2026-04-30T23:59:59+05:00')).toBe('2026-03');
  });

  it('turns at midnight Astana time, not UTC', () => {
    // 5 April 19:00 UTC is already the 6th in Astana; 18:59 UTC is still the 5th.
    expect(due('2026-04-05T18:59:59Z')).toBe('2026-02');
    expect(due('2026-04-05T19:00:00Z')).toBe('2026-03');
    expect(dueExportMonth(at('2026-04-05T19:00:00Z'), 0)).toBe('2026-02');
  });

  it('across the year end', () => {
    expect(due('2026-01-01T00:00:00+05:00')).toBe('2025-11');
    expect(due('2026-01-05T23:59:59+05:00')).toBe('2025-11');
    expect(due('2026-01-06T00:00:00+05:00')).toBe('2025-12');
    expect(due('2026-02-05T12:00:00+05:00')).toBe('2025-12');
    expect(due('2026-02-06T00:00:00+05:00')).toBe('2026-01');
    // New Year's Eve in UTC is already 1 January in Astana.
    expect(due('2026-12-31T19:30:00Z')).toBe('2026-11');
    expect(due('2026-12-06T00:00:00+05:00')).toBe('2026-11');
  });

  it('agrees with exportDueBy at every month boundary of a year', () => {
    for (let m = 0; m < 12; m++) {
      const month = addMonths('2026-01', m);
      const dueBy = exportDueBy(month, ASTANA);
      expect(dueExportMonth(new Date(dueBy.getTime() - 1), ASTANA), month).toBe(addMonths(month, -1));
      expect(dueExportMonth(dueBy, ASTANA), month).toBe(month);
    }
  });
});

describe('exportMonthOf: which month a loaded KGD file is the export of', () => {
  it('the one month all dated rows fall in', () => {
    expect(exportMonthOf(tally({ '2026-03': 1200 }), null, LATER, ASTANA)).toEqual({
      month: '2026-03',
      from: 'decisions',
      warnings: [],
    });
  });

  it('the month more than half of them fall in, naming the others', () => {
    const verdict = exportMonthOf(tally({ '2026-02': 3, '2026-03': 997 }), null, LATER, ASTANA);
    expect(verdict.month).toBe('2026-03');
    expect(verdict.from).toBe('decisions');
    expect(verdict.warnings).toEqual([
      'recorded as the export of 2026-03, which most decisions fall in; the others: 2026-02: 3 rows',
    ]);
  });

  it('no month holding a majority: not recorded, and the report says why and what to do', () => {
    for (const months of [
      { '2026-02': 500, '2026-03': 500 },
      { '2026-01': 400, '2026-02': 300, '2026-03': 300 },
    ]) {
      const verdict = exportMonthOf(tally(months), null, LATER, ASTANA);
      expect(verdict.month).toBeNull();
      expect(verdict.warnings.join('\n')).toMatch(/none holding most of them .*--month YYYY-MM/);
    }
  });

  it('rows without a date do not count either way', () => {
    const verdict = exportMonthOf(tally({ '2026-03': 2 }, 10), null, LATER, ASTANA);
    expect(verdict.month).toBe('2026-03');
    expect(verdict.warnings).toEqual(['10 rows have no decision date and did not count']);
  });

  it('no dated row and no month given: not recorded', () => {
    const verdict = exportMonthOf(tally({}, 40), null, LATER, ASTANA);
    expect(verdict).toMatchObject({ month: null, from: null });
    expect(verdict.warnings.join('\n')).toMatch(/no row has a decision date: not recorded/);
  });

  it('an explicit month wins over the dates; rows outside it are reported', () => {
    expect(exportMonthOf(tally({}, 40), '2026-03', LATER, ASTANA)).toEqual({
      month: '2026-03',
      from: 'option',
      warnings: [],
    });
    const verdict = exportMonthOf(tally({ '2026-02': 500, '2026-03': 500 }), '2026-03', LATER, ASTANA);
    expect(verdict).toMatchObject({ month: '2026-03', from: 'option' });
    expect(verdict.warnings).toEqual(['rows dated outside 2026-03, the month given: 2026-02: 500 rows']);
  });

  it('a month that has not ended in Astana is never recorded, from the dates or given', () => {
    const now = at('2026-03-31T23:00:00+05:00');
    for (const explicit of [null, '2026-03']) {
      const verdict = exportMonthOf(tally({ '2026-03': 10 }), explicit, now, ASTANA);
      expect(verdict.month, String(explicit)).toBeNull();
      expect(verdict.warnings.at(-1)).toMatch(/2026-03 has not ended/);
    }
    expect(exportMonthOf(tally({ '2026-03': 10 }), null, at('2026-04-01T00:00:00+05:00'), ASTANA).month).toBe(
      '2026-03',
    );
  });
});
