/**
 * Working-day arithmetic in Astana time (UTC+5 all year since 1 March 2024): a request that has
 * waited one working day for KGD goes to a reviewer (seed 000 §10–11).
 */
const DAY_MS = 86_400_000;

export interface WorkingCalendar {
  /** Offset of local time from UTC, in minutes (Astana: 300). */
  readonly utcOffsetMinutes: number;
  /** Public holidays, local dates `YYYY-MM-DD`. */
  readonly holidays: ReadonlySet<string>;
}

function isWorkingDay(localMidnightMs: number, calendar: WorkingCalendar): boolean {
  const date = new Date(localMidnightMs);
  const weekday = date.getUTCDay();
  if (weekday === 0 || weekday === 6) return false;
  return !calendar.holidays.has(date.toISOString().slice(0, 10));
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

/** An instant as Astana local time, ISO-like with its offset: `2026-11-23T14:05:00+05:00`. */
export function toLocalIso(at: Date, utcOffsetMinutes: number): string {
  const local = new Date(at.getTime() + utcOffsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = utcOffsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(utcOffsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
