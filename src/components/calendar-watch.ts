/**
 * Deadlines count with the working-day calendar (config `pending.calendar`): this component says
 * at start when it does not know this or next year, and its gauges say how far ahead it is known
 * and which month's KGD export is due by now (both in Astana time, `pending.utcOffsetMinutes`).
 */
import { dueExportMonth, monthTimestamp } from '../domain/kgd-export.js';
import { type CalendarData, calendarCoveredUntil, calendarGaps } from '../domain/working-day.js';
import type { Logger } from '../log.js';
import { type Component, type Gauge, type GaugeTable, gaugesOf } from '../runtime/component.js';

export interface CalendarWatchDeps {
  readonly calendar: CalendarData;
  readonly utcOffsetMinutes: number;
  readonly log: Logger;
}

export const CALENDAR_GAUGES: GaugeTable<CalendarWatchDeps> = [
  {
    name: 'calendar_covered_until_timestamp_seconds',
    help: 'End of the working-day calendar: 1 January (Astana) of the first year from now on it does not hold completely',
    read: ({ calendar, utcOffsetMinutes }) =>
      calendarCoveredUntil(calendar, new Date(), utcOffsetMinutes).getTime() / 1000,
  },
  // Months as 00:00 UTC on their first day (src/domain/kgd-export.ts): it compares directly with
  // the last month loaded (the store's gauge kgd_export_last_month_timestamp_seconds).
  {
    name: 'kgd_export_expected_month_timestamp_seconds',
    help: 'The month whose KGD export should be loaded by now (due by the 5th of the next month, Astana time), as 00:00 UTC on its first day',
    read: ({ utcOffsetMinutes }) =>
      monthTimestamp(dueExportMonth(new Date(), utcOffsetMinutes)).getTime() / 1000,
  },
];

export class CalendarWatch implements Component {
  readonly name = 'working-day calendar';
  readonly gauges: readonly Gauge[];
  readonly #deps: CalendarWatchDeps;

  constructor(deps: CalendarWatchDeps) {
    this.#deps = deps;
    this.gauges = gaugesOf(CALENDAR_GAUGES, deps);
  }

  start(): void {
    const { calendar, utcOffsetMinutes, log } = this.#deps;
    for (const { year, missing } of calendarGaps(calendar, new Date(), utcOffsetMinutes)) {
      log.warn(
        { year, missing },
        `the working-day calendar is incomplete for ${year}: deadlines may fall on a day off; add the dates to pending.calendar (README, "Working days")`,
      );
    }
  }

  stop(): void {}
}
