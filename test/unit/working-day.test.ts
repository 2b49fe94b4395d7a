import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, workingCalendar } from '../../src/config/config.js';
import {
  addWorkingDays,
  addWorkingMinutes,
  type CalendarData,
  calendarCoveredUntil,
  calendarGaps,
  isWorkingDate,
  toLocalIso,
  workingCalendarOf,
} from '../../src/domain/working-day.js';
import { isImeiflowError } from '../../src/errors.js';
import { tempDir } from '../support/tmp.js';

const astana = { utcOffsetMinutes: 300, holidays: new Set(['2026-12-16']) };
const at = (iso: string) => new Date(iso);
/** The shipped calendar, as the service builds it from the default configuration. */
const kz = workingCalendar(loadConfig({ env: {} }));
const plusOne = (iso: string, calendar = kz) => toLocalIso(addWorkingDays(at(iso), 1, calendar), 300);

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

describe("Kazakhstan's calendar, as shipped (config/calendar/kz.json)", () => {
  it('a holiday on the Friday before a weekend (1 May 2026) → Monday', () => {
    expect(plusOne('2026-04-30T11:00:00+05:00')).toBe('2026-05-04T11:00:00+05:00');
  });
  it('a holiday on Saturday moves its day off to the Monday after (9 → 11 May 2026)', () => {
    expect(isWorkingDate('2026-05-11', kz)).toBe(false);
    expect(plusOne('2026-05-08T11:00:00+05:00')).toBe('2026-05-12T11:00:00+05:00');
  });
  it('a holiday on Sunday moves its day off to Monday (8 → 9 March 2026)', () => {
    expect(plusOne('2026-03-06T16:45:00+05:00')).toBe('2026-03-10T16:45:00+05:00');
  });
  it('Nauryz over a weekend: 21–23 March plus two moved days off, 24 and 25 March 2026', () => {
    for (const date of ['2026-03-23', '2026-03-24', '2026-03-25'])
      expect(isWorkingDate(date, kz)).toBe(false);
    // 18:30 on the Friday before: half an hour that day, the rest on Thursday 26 March.
    expect(plusOne('2026-03-20T18:30:00+05:00')).toBe('2026-03-26T18:30:00+05:00');
    // Received as Friday's working hours start: one working day is Friday's working hours.
    expect(plusOne('2026-03-20T09:00:00+05:00')).toBe('2026-03-20T19:00:00+05:00');
  });
  it('Kurban Ait (27 May 2026, a Wednesday) is a day off', () => {
    expect(plusOne('2026-05-26T10:00:00+05:00')).toBe('2026-05-28T10:00:00+05:00');
  });
  it('across the year end: New Year, the day off moved from Saturday 2 January, then Christmas', () => {
    // Thu 31 Dec 2026 → Fri 1 Jan (holiday), Sat 2 (holiday), Sun 3, Mon 4 (moved) → Tue 5 Jan 2027.
    expect(plusOne('2026-12-31T10:00:00+05:00')).toBe('2027-01-05T10:00:00+05:00');
    // Wed 6 Jan → Thu 7 Jan (Orthodox Christmas) → Fri 8 Jan.
    expect(plusOne('2027-01-06T10:00:00+05:00')).toBe('2027-01-08T10:00:00+05:00');
  });
  it('a request received in the new-year night counts from the first working day', () => {
    // 31 Dec 2026 20:00 UTC is 1 January 01:00 in Astana: the clock starts on Tue 5 Jan at 09:00,
    // and one working day is that day's working hours.
    expect(plusOne('2026-12-31T20:00:00Z')).toBe('2027-01-05T19:00:00+05:00');
  });
  it('working hours (seed 004: 09:00–19:00): after hours counts from the next working day', () => {
    expect(plusOne('2026-11-27T20:00:00+05:00')).toBe('2026-11-30T19:00:00+05:00');
    expect(plusOne('2026-11-30T07:00:00+05:00')).toBe('2026-11-30T19:00:00+05:00');
    expect(kz.hours).toEqual({ startMinute: 9 * 60, endMinute: 19 * 60 });
  });
  it('working minutes cross the night: Monday 18:00 plus three working hours is Tuesday 11:00', () => {
    expect(toLocalIso(addWorkingMinutes(at('2026-11-30T18:00:00+05:00'), 180, kz), 300)).toBe(
      '2026-12-01T11:00:00+05:00',
    );
  });
  it('2027 as the law fixes it: Victory Day on Sunday → Monday 10 May; 1 May on Saturday → Monday 3 May', () => {
    expect(plusOne('2027-04-30T10:00:00+05:00')).toBe('2027-05-04T10:00:00+05:00');
    expect(plusOne('2027-05-06T10:00:00+05:00')).toBe('2027-05-11T10:00:00+05:00');
  });

  it('every year lists exactly the holidays and the moves the law gives (Law No. 267 art. 5)', () => {
    const { calendar } = loadConfig({ env: {} }).pending;
    const statutory = ['01-01', '01-02', '03-08', '03-21', '03-22', '03-23', '05-01', '05-07', '05-09'];
    statutory.push('07-06', '08-30', '10-25', '12-16');
    for (const [year, data] of Object.entries(calendar.years)) {
      // Religious days off (Labour Code art. 84(5)) are never moved: take them as the file has them.
      const religious = Object.keys(data.daysOff).filter((d) => /Christmas|Kurban/.test(data.daysOff[d]!));
      const expected = new Set([...statutory.map((md) => `${year}-${md}`), ...religious]);
      for (const md of statutory) {
        const date = new Date(`${year}-${md}T00:00:00Z`);
        if (date.getUTCDay() !== 0 && date.getUTCDay() !== 6) continue;
        // The next working day after the holiday that is not already a day off.
        let next = date.getTime();
        for (;;) {
          next += 86_400_000;
          const day = new Date(next);
          const key = day.toISOString().slice(0, 10);
          if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6 && !expected.has(key)) {
            expected.add(key);
            break;
          }
        }
      }
      // A decree's swaps would add working days and their days off: none is known for these years.
      expect(Object.keys(data.workingDays), year).toEqual([]);
      expect(Object.keys(data.daysOff).sort(), year).toEqual([...expected].sort());
      expect(data.sources.length, year).toBeGreaterThan(0);
    }
    expect(calendar.years['2026']?.complete).toBe(true);
    // No official source for Kurban Ait 2027 or a 2027 decree was found: the year says so.
    expect(calendar.years['2027']?.complete).toBe(false);
    expect(calendar.years['2027']?.missing).toContain('Kurban Ait');
  });
});

describe('a working Saturday moved by decree', () => {
  // The government's decree for 2023: the day off moved from Saturday 1 July to Friday 7 July,
  // around Capital Day (Thursday 6 July).
  const data: CalendarData = {
    years: {
      '2023': {
        complete: true,
        daysOff: { '2023-07-06': 'Capital Day', '2023-07-07': 'moved from Saturday 1 July' },
        workingDays: { '2023-07-01': 'a working day moved from Friday 7 July' },
      },
    },
  };
  const calendar = workingCalendarOf(data, { holidays: [], workingDays: [] }, 300);

  it('is a working day: Friday → Saturday', () => {
    expect(plusOne('2023-06-30T10:00:00+05:00', calendar)).toBe('2023-07-01T10:00:00+05:00');
    expect(plusOne('2023-07-01T10:00:00+05:00', calendar)).toBe('2023-07-03T10:00:00+05:00');
  });
  it('the swapped Friday is a day off: Wednesday → Monday', () => {
    expect(plusOne('2023-07-05T10:00:00+05:00', calendar)).toBe('2023-07-10T10:00:00+05:00');
  });
  it('a start on the working Saturday counts from that Saturday', () => {
    expect(plusOne('2023-07-01T00:30:00+05:00', calendar)).toBe('2023-07-03T00:30:00+05:00');
  });
});

describe('operators override the calendar without a release', () => {
  it('environment variables add days off and working days', () => {
    const calendar = workingCalendar(
      loadConfig({
        env: { IMEIFLOW_HOLIDAYS: '2026-12-31', IMEIFLOW_WORKING_DAYS: '2026-12-26,2026-03-25' },
      }),
    );
    expect(isWorkingDate('2026-12-31', calendar)).toBe(false);
    expect(isWorkingDate('2026-12-26', calendar)).toBe(true); // a Saturday
    // A working day wins over a shipped day off (a decree that cancels one).
    expect(isWorkingDate('2026-03-25', calendar)).toBe(true);
  });

  it('a configuration file completes 2027 per date, keeping what the shipped file has', () => {
    const file = join(tempDir(), 'imeiflow.json');
    writeFileSync(
      file,
      JSON.stringify({
        pending: {
          calendar: {
            years: {
              '2027': {
                complete: true,
                sources: ['the operator: ДУМК calendar 2027'],
                daysOff: { '2027-05-17': 'first day of Kurban Ait' },
              },
            },
          },
        },
      }),
    );
    const config = loadConfig({ env: { IMEIFLOW_CONFIG: file } });
    const calendar = workingCalendar(config);
    expect(isWorkingDate('2027-05-17', calendar)).toBe(false);
    expect(isWorkingDate('2027-05-10', calendar)).toBe(false); // from the shipped file
    expect(isWorkingDate('2026-05-27', calendar)).toBe(false); // 2026 untouched
    expect(calendarCoveredUntil(config.pending.calendar, at('2026-11-29T12:00:00Z'), 300).toISOString()).toBe(
      '2027-12-31T19:00:00.000Z',
    );
  });

  it('IMEIFLOW_CALENDAR_FILE replaces the shipped file', () => {
    const file = join(tempDir(), 'calendar.json');
    writeFileSync(
      file,
      JSON.stringify({
        country: 'KZ',
        years: { '2026': { complete: true, daysOff: { '2026-11-30': 'test' } } },
      }),
    );
    const calendar = workingCalendar(loadConfig({ env: { IMEIFLOW_CALENDAR_FILE: file } }));
    expect(isWorkingDate('2026-11-30', calendar)).toBe(false);
    expect(isWorkingDate('2026-12-16', calendar)).toBe(true); // not in this file
  });

  it('a date outside its year, or not a date, is refused naming the calendar', () => {
    const file = join(tempDir(), 'bad-calendar.json');
    writeFileSync(
      file,
      JSON.stringify({
        country: 'KZ',
        years: { '2026': { daysOff: { '2027-01-01': 'x', '2026-02-30': 'y' } } },
      }),
    );
    try {
      loadConfig({ env: { IMEIFLOW_CALENDAR_FILE: file } });
      expect.unreachable('the calendar should be refused');
    } catch (error) {
      expect(isImeiflowError(error, 'CONFIG_INVALID')).toBe(true);
      const message = (error as Error).message;
      expect(message).toContain(`calendar ${file}`);
      expect(message).toContain('years.2026.daysOff.2027-01-01: is not in 2026');
      expect(message).toContain('must be a real date');
    }
  });
});

describe('calendarCoveredUntil', () => {
  const { calendar } = loadConfig({ env: {} }).pending;
  it('ends where the first incomplete year begins (1 January 2027, Astana midnight)', () => {
    expect(calendarCoveredUntil(calendar, at('2026-11-29T12:00:00Z'), 300).toISOString()).toBe(
      '2026-12-31T19:00:00.000Z',
    );
  });
  it('is already past in a year the calendar does not hold', () => {
    expect(calendarCoveredUntil(calendar, at('2028-03-01T00:00:00Z'), 300).toISOString()).toBe(
      '2027-12-31T19:00:00.000Z',
    );
    expect(calendarCoveredUntil(calendar, at('2025-06-01T00:00:00Z'), 300).toISOString()).toBe(
      '2024-12-31T19:00:00.000Z',
    );
  });
});

describe('calendarGaps (the start-up warning)', () => {
  const { calendar } = loadConfig({ env: {} }).pending;
  it('names 2027 and what it lacks, from 2026 on', () => {
    const gaps = calendarGaps(calendar, at('2026-11-29T12:00:00Z'), 300);
    expect(gaps.map((g) => g.year)).toEqual([2027]);
    expect(gaps[0]?.missing).toContain('Kurban Ait 2027');
  });
  it('names a year the calendar does not hold at all', () => {
    expect(calendarGaps(calendar, at('2027-06-01T00:00:00Z'), 300)).toEqual([
      { year: 2027, missing: calendar.years['2027']!.missing },
      { year: 2028, missing: 'every date (the year is not in the calendar)' },
    ]);
  });
});
