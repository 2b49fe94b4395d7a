/**
 * KGD's monthly export (seed 000 §11): "КГД на ежемесячной основе в срок до 5-го числа месяца,
 * следующего за отчетным, предоставляет … перечень сведений согласно приложению 2" — every month,
 * by the 5th of the month after the reporting month, KGD sends its release decisions as an Excel
 * file. This module says which month a loaded export covers and which month's export is due by a
 * given moment; the service records the first and alerts when it falls behind the second.
 *
 * Months are Astana calendar months (the offset is `pending.utcOffsetMinutes`, 300). A month is
 * written `YYYY-MM`; as a metric it is the timestamp of 00:00 UTC on its first day, a label for
 * the month rather than an instant (both gauges use it, so they compare directly and read as the
 * month's date in any time zone).
 */

/** `YYYY-MM`. */
export type YearMonth = string;

/** The export for month M is due by the end of this day of month M+1, Astana time (seed 000 §11). */
export const KGD_EXPORT_DUE_DAY = 5;

const MONTH = /^(\d{4})-(\d{2})$/;

/** A `YYYY-MM` month, or why the text is not one. */
export function parseYearMonth(text: string): YearMonth | Error {
  const m = MONTH.exec(text.trim());
  if (m === null) return new Error(`month ${JSON.stringify(text)} is not YYYY-MM`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (month < 1 || month > 12) return new Error(`month ${JSON.stringify(text)}: ${m[2]} is not a month`);
  if (year < 2000) return new Error(`month ${JSON.stringify(text)}: ${year} is before any KGD export`);
  return `${m[1]}-${m[2]}`;
}

function yearMonth(year: number, monthIndex: number): YearMonth {
  const d = new Date(Date.UTC(year, monthIndex, 1));
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

function parts(month: YearMonth): { year: number; monthIndex: number } {
  return { year: Number(month.slice(0, 4)), monthIndex: Number(month.slice(5, 7)) - 1 };
}

/** The local (Astana) calendar month an instant falls in. */
export function monthOfInstant(at: Date, utcOffsetMinutes: number): YearMonth {
  const local = new Date(at.getTime() + utcOffsetMinutes * 60_000);
  return yearMonth(local.getUTCFullYear(), local.getUTCMonth());
}

/** The month `n` months after `month` (before it when negative). */
export function addMonths(month: YearMonth, n: number): YearMonth {
  const { year, monthIndex } = parts(month);
  return yearMonth(year, monthIndex + n);
}

/** The month's metric value: 00:00 UTC on its first day (a label for the month, see above). */
export function monthTimestamp(month: YearMonth): Date {
  const { year, monthIndex } = parts(month);
  return new Date(Date.UTC(year, monthIndex, 1));
}

/** The instant the export of `month` is late: 00:00 Astana time on the 6th of the month after. */
export function exportDueBy(month: YearMonth, utcOffsetMinutes: number): Date {
  const { year, monthIndex } = parts(month);
  return new Date(Date.UTC(year, monthIndex + 1, KGD_EXPORT_DUE_DAY + 1) - utcOffsetMinutes * 60_000);
}

/**
 * The latest month whose export should have been loaded by `now`: until the end of the 5th
 * (Astana) it is the month before last, from 00:00 on the 6th the month before this one. E.g.
 * on 5 April at 23:59 February's, on 6 April at 00:00 March's; on 6 January December's.
 */
export function dueExportMonth(now: Date, utcOffsetMinutes: number): YearMonth {
  const local = new Date(now.getTime() + utcOffsetMinutes * 60_000);
  const back = local.getUTCDate() > KGD_EXPORT_DUE_DAY ? 1 : 2;
  return yearMonth(local.getUTCFullYear(), local.getUTCMonth() - back);
}

/** Whether `month` is over by `now` (Astana): only a finished month can have its export. */
export function monthHasEnded(month: YearMonth, now: Date, utcOffsetMinutes: number): boolean {
  return month < monthOfInstant(now, utcOffsetMinutes);
}

/** The decision dates of the rows a file loaded: rows per month, and rows with no date. */
export interface MonthTally {
  readonly months: ReadonlyMap<YearMonth, number>;
  readonly undated: number;
}

/** What a loaded file is recorded as. */
export interface ExportMonthVerdict {
  /** The month the file is recorded as the export of; null: not recorded as a monthly export. */
  readonly month: YearMonth | null;
  /** Where the month came from: `--month` / the `month` parameter, or the decisions' dates. */
  readonly from: 'option' | 'decisions' | null;
  /** What the load report says about it (months outside, rows without a date, why not recorded). */
  readonly warnings: readonly string[];
}

function listed(months: readonly [YearMonth, number][]): string {
  return months.map(([m, n]) => `${m}: ${n} ${n === 1 ? 'row' : 'rows'}`).join(', ');
}

const GIVE_MONTH = 'give the month it covers (--month YYYY-MM, or month=YYYY-MM on the upload)';

/**
 * The month a loaded KGD file is the export of.
 *
 * - An explicit month (`--month`) is taken as given; rows dated outside it are only reported.
 * - Otherwise the decisions' dates (`decided_at`, Astana) say it: the month **more than half** of
 *   the dated rows fall in. An export may carry a few late corrections of earlier months, and
 *   one such row should not make an operator reload a million-row file; but a file with no month
 *   holding a majority (two months' decisions, say) is not guessed at. Rows without a date do not
 *   count either way. No dated row at all: not recorded.
 * - A month that has not ended (Astana) is never recorded: its export cannot exist yet, and
 *   recording it would hide a missing earlier one from the alert.
 */
export function exportMonthOf(
  tally: MonthTally,
  explicit: YearMonth | null,
  now: Date,
  utcOffsetMinutes: number,
): ExportMonthVerdict {
  const warnings: string[] = [];
  const byMonth = [...tally.months.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const dated = byMonth.reduce((sum, [, n]) => sum + n, 0);

  let month: YearMonth | null;
  let from: ExportMonthVerdict['from'];
  if (explicit !== null) {
    month = explicit;
    from = 'option';
    const outside = byMonth.filter(([m]) => m !== explicit);
    if (outside.length > 0)
      warnings.push(`rows dated outside ${explicit}, the month given: ${listed(outside)}`);
  } else if (dated === 0) {
    warnings.push(`no row has a decision date: not recorded as a monthly export; ${GIVE_MONTH}`);
    return { month: null, from: null, warnings };
  } else {
    const [top, count] = byMonth.reduce((best, entry) => (entry[1] > best[1] ? entry : best));
    if (count * 2 <= dated) {
      warnings.push(
        `the decisions span several months with none holding most of them (${listed(byMonth)}): ` +
          `not recorded as a monthly export; ${GIVE_MONTH}`,
      );
      return { month: null, from: null, warnings };
    }
    month = top;
    from = 'decisions';
    if (tally.undated > 0)
      warnings.push(
        `${tally.undated} ${tally.undated === 1 ? 'row has' : 'rows have'} no decision date and did not count`,
      );
    const others = byMonth.filter(([m]) => m !== top);
    if (others.length > 0)
      warnings.push(
        `recorded as the export of ${top}, which most decisions fall in; the others: ${listed(others)}`,
      );
  }
  if (!monthHasEnded(month, now, utcOffsetMinutes)) {
    warnings.push(
      `${month} has not ended (Astana time): a month's export comes after it, so this file is not recorded as one`,
    );
    return { month: null, from: null, warnings };
  }
  return { month, from, warnings };
}
