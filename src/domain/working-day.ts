/**
 * Working-day arithmetic in Astana time (UTC+5 all year since 1 March 2024): a request that has
 * waited one working day for KGD goes to a reviewer (seed 000 §10–11).
 *
 * The five-day week, with Kazakhstan's calendar as data (`config/calendar/kz.json`): public
 * holidays, the days off a holiday on a weekend moves to the next working day (Law No. 267 "On
 * holidays", art. 5), and the government's yearly swaps, which can make a Saturday a working day.
 */
const DAY_MS = 86_400_000;

export interface WorkingCalendar {
  /** Offset of local time from UTC, in minutes (Astana: 300). */
  readonly utcOffsetMinutes: number;
  /** Days off besides Saturdays and Sundays: holidays and moved days off, local dates `YYYY-MM-DD`. */
  readonly holidays: ReadonlySet<string>;
  /**
   * Local dates that are working days whatever the weekday or `holidays` say: a Saturday that a
   * government decree made a working day. Absent: none.
   */
  readonly workingDays?: ReadonlySet<string>;
}

function isWorkingDay(localMidnightMs: number, calendar: WorkingCalendar): boolean {
  const date = new Date(localMidnightMs);
  const key = date.toISOString().slice(0, 10);
  if (calendar.workingDays?.has(key) === true) return true;
  const weekday = date.getUTCDay();
  if (weekday === 0 || weekday === 6) return false;
  return !calendar.holidays.has(key);
}

/** Whether the local date `YYYY-MM-DD` is a working day in this calendar. */
export function isWorkingDate(date: string, calendar: WorkingCalendar): boolean {
  return isWorkingDay(Date.parse(`${date}T00:00:00Z`), calendar);
}

/** One year of the calendar data (`config/calendar/kz.json`, merged with configuration). */
export interface CalendarYear {
  /** Every date the year needs is known from an official source. */
  readonly complete: boolean;
  /** What an incomplete year lacks. */
  readonly missing?: string | undefined;
  /** Local date → why it is a day off. */
  readonly daysOff: Readonly<Record<string, string>>;
  /** Local date → why it is a working day (a Saturday or Sunday a decree made one). */
  readonly workingDays: Readonly<Record<string, string>>;
}

export interface CalendarData {
  /** Keyed by the year, `"2026"`. */
  readonly years: Readonly<Record<string, CalendarYear>>;
}

/**
 * The calendar the deadlines count with: every year's days off and working days, plus the
 * dates configuration adds. A date listed as a working day anywhere is one.
 */
export function workingCalendarOf(
  data: CalendarData,
  extra: { readonly holidays: readonly string[]; readonly workingDays: readonly string[] },
  utcOffsetMinutes: number,
): WorkingCalendar {
  const holidays = new Set(extra.holidays);
  const workingDays = new Set(extra.workingDays);
  for (const year of Object.values(data.years)) {
    for (const date of Object.keys(year.daysOff)) holidays.add(date);
    for (const date of Object.keys(year.workingDays)) workingDays.add(date);
  }
  for (const date of workingDays) holidays.delete(date);
  return { utcOffsetMinutes, holidays, workingDays };
}

/** The local calendar year of an instant. */
export function localYear(at: Date, utcOffsetMinutes: number): number {
  return new Date(at.getTime() + utcOffsetMinutes * 60_000).getUTCFullYear();
}

/**
 * Until when the calendar is known: local midnight of 1 January of the first year, from the
 * current one on, that the data does not hold completely. Past that instant only weekends are
 * days off, so deadlines can fall on a holiday.
 */
export function calendarCoveredUntil(data: CalendarData, now: Date, utcOffsetMinutes: number): Date {
  let year = localYear(now, utcOffsetMinutes);
  while (data.years[String(year)]?.complete === true) year++;
  return new Date(Date.UTC(year, 0, 1) - utcOffsetMinutes * 60_000);
}

/**
 * The moment `days` working days after `at`: the same local clock time that many working days
 * later. A start on a weekend or holiday counts from the next working day's midnight. Zero days
 * is `at` itself.
 */
export function addWorkingDays(at: Date, days: number, calendar: WorkingCalendar): Date {
  // Zero days is "at once", whatever the day: a deployment that wants immediate review says so.
  if (days === 0) return at;
  const offsetMs = calendar.utcOffsetMinutes * 60_000;
  // Work in "local time as if it were UTC", then shift back.
  let local = at.getTime() + offsetMs;
  let midnight = Math.floor(local / DAY_MS) * DAY_MS;
  if (!isWorkingDay(midnight, calendar)) {
    do midnight += DAY_MS;
    while (!isWorkingDay(midnight, calendar));
    local = midnight;
  }
  const timeOfDay = local - midnight;
  for (let added = 0; added < days; ) {
    midnight += DAY_MS;
    if (isWorkingDay(midnight, calendar)) added++;
  }
  return new Date(midnight + timeOfDay - offsetMs);
}

/**
 * The current and the coming year, when the calendar does not hold them completely: what a
 * start-up warning names (README, "Working days").
 */
export function calendarGaps(
  data: CalendarData,
  now: Date,
  utcOffsetMinutes: number,
): { readonly year: number; readonly missing: string }[] {
  const current = localYear(now, utcOffsetMinutes);
  const gaps: { year: number; missing: string }[] = [];
  for (const year of [current, current + 1]) {
    const known = data.years[String(year)];
    if (known?.complete === true) continue;
    gaps.push({
      year,
      missing:
        known === undefined
          ? 'every date (the year is not in the calendar)'
          : (known.missing ?? 'dates not yet known'),
    });
  }
  return gaps;
}

/** An instant as Astana local time, ISO-like with its offset: `2026-11-23T14:05:00+05:00`. */
export function toLocalIso(at: Date, utcOffsetMinutes: number): string {
  const local = new Date(at.getTime() + utcOffsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = utcOffsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(utcOffsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
