/**
 * Working-time arithmetic in Astana time (UTC+5 all year since 1 March 2024): a request is
 * confirmed or rejected within one working day of receipt (seed 000 §10), counted in working
 * hours, 09:00–19:00 by default (seed 004, the state services' working hours: a filing after hours
 * counts from the next working day).
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
  /** The working hours of a working day, local time. Absent: the whole day (00:00–24:00). */
  readonly hours?: WorkingHours;
}

/** A working day's hours, in minutes after local midnight: 09:00–19:00 is 540–1140. */
export interface WorkingHours {
  readonly startMinute: number;
  readonly endMinute: number;
}

/** `"09:00"` → 540; undefined when it is not a time of day. */
export function minuteOfDay(text: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return match === null ? undefined : Number(match[1]) * 60 + Number(match[2]);
}

/** How many working minutes a working day has. */
export function workingDayMinutes(calendar: WorkingCalendar): number {
  const hours = calendar.hours;
  return hours === undefined ? 1440 : hours.endMinute - hours.startMinute;
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
  /** Local times of day, `"09:00"` and `"19:00"`; absent: the whole day is working time. */
  readonly workingHours?: { readonly start: string; readonly end: string } | undefined;
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
  const hours = workingHoursOf(data);
  const holidays = new Set(extra.holidays);
  const workingDays = new Set(extra.workingDays);
  for (const year of Object.values(data.years)) {
    for (const date of Object.keys(year.daysOff)) holidays.add(date);
    for (const date of Object.keys(year.workingDays)) workingDays.add(date);
  }
  for (const date of workingDays) holidays.delete(date);
  return hours === undefined
    ? { utcOffsetMinutes, holidays, workingDays }
    : { utcOffsetMinutes, holidays, workingDays, hours };
}

/** The calendar's working hours, as minutes; undefined when it gives none (the whole day). */
function workingHoursOf(data: CalendarData): WorkingHours | undefined {
  if (data.workingHours === undefined) return undefined;
  const startMinute = minuteOfDay(data.workingHours.start);
  const endMinute = minuteOfDay(data.workingHours.end);
  if (startMinute === undefined || endMinute === undefined || endMinute <= startMinute)
    throw new Error(
      `working hours ${data.workingHours.start}–${data.workingHours.end} are not a span of one day`,
    );
  return { startMinute, endMinute };
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
 * The moment `days` working days after `at`, counted in working time: one working day is the
 * length of one day's working hours. A start outside working hours counts from the next start of
 * working hours, so a request received at 20:00 on Friday is due at 19:00 on Monday, and one
 * received at 18:30 on Friday at 18:30 on the next working day. Zero days is `at` itself.
 */
export function addWorkingDays(at: Date, days: number, calendar: WorkingCalendar): Date {
  // Zero days is "at once", whatever the day: a deployment that wants immediate review says so.
  if (days === 0) return at;
  return addWorkingMinutes(at, days * workingDayMinutes(calendar), calendar);
}

/**
 * The moment `minutes` of working time after `at`. A deadline that uses up a day's working hours
 * exactly falls at their end (19:00), not at the next day's start. Zero minutes is `at` itself.
 */
export function addWorkingMinutes(at: Date, minutes: number, calendar: WorkingCalendar): Date {
  if (minutes <= 0) return at;
  const offsetMs = calendar.utcOffsetMinutes * 60_000;
  const startMs = (calendar.hours?.startMinute ?? 0) * 60_000;
  const endMs = (calendar.hours?.endMinute ?? 1440) * 60_000;
  // Work in "local time as if it were UTC", then shift back.
  let local = at.getTime() + offsetMs;
  let remaining = minutes * 60_000;
  for (;;) {
    const midnight = Math.floor(local / DAY_MS) * DAY_MS;
    if (!isWorkingDay(midnight, calendar) || local >= midnight + endMs) {
      local = midnight + DAY_MS;
      continue;
    }
    if (local < midnight + startMs) local = midnight + startMs;
    const available = midnight + endMs - local;
    if (remaining <= available) return new Date(local + remaining - offsetMs);
    remaining -= available;
    local = midnight + DAY_MS;
  }
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
