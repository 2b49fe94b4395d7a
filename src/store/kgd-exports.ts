/**
 * The KGD monthly exports loaded (seed 000 §11), one record per month under `kgd/<YYYY-MM>`: what
 * the `exports` topic's global table holds on every instance, and what a CLI load without a
 * cluster writes directly. The latest load of a month replaces the record before it.
 */
import { z } from 'zod';
import {
  addMonths,
  dueExportMonth,
  exportDueBy,
  parseYearMonth,
  type YearMonth,
} from '../domain/kgd-export.js';
import type { KgdExportRecord } from './records.js';
import type { Store } from './store.js';

const KEY_PREFIX = 'kgd/';

/** The record's key, on the topic and in the store. */
export function kgdExportKey(month: YearMonth): string {
  return `${KEY_PREFIX}${month}`;
}

/** A record as read from the topic (values written by any imeiflow of the cluster). */
export const kgdExportRecordSchema = z.strictObject({
  month: z.string().refine((text) => !(parseYearMonth(text) instanceof Error), 'not a YYYY-MM month'),
  monthFrom: z.enum(['option', 'decisions']),
  file: z.string().max(1024),
  rows: z.number().int().min(0),
  loadedAt: z.iso.datetime(),
  actor: z.string().max(256),
}) satisfies z.ZodType<KgdExportRecord>;

/** Call inside a write transaction (or alone: one small put). */
export function putKgdExport(store: Store, record: KgdExportRecord): Promise<boolean> {
  return store.exports.put(kgdExportKey(record.month), record);
}

/** Every export recorded, oldest month first. */
export function kgdExports(store: Store): KgdExportRecord[] {
  const records: KgdExportRecord[] = [];
  for (const { key, value } of store.exports.getRange()) {
    if (key.startsWith(KEY_PREFIX)) records.push(value);
  }
  return records.sort((a, b) => (a.month < b.month ? -1 : a.month > b.month ? 1 : 0));
}

/** The export of the latest month loaded, or undefined when none has been. */
export function latestKgdExport(store: Store): KgdExportRecord | undefined {
  // A dozen records a year: reading them all is cheaper than thinking about key order.
  return kgdExports(store).at(-1);
}

/** What `GET /v1/info` says about KGD's monthly export. */
export interface KgdExportStatus {
  /** The latest month whose export is loaded; null: none is. */
  readonly lastMonth: YearMonth | null;
  readonly loadedAt: string | null;
  readonly rows: number | null;
  /** The latest month whose export should be loaded by now (due by the 5th, Astana). */
  readonly expectedMonth: YearMonth;
  /** The expected month's export is not loaded (what ImeiflowKgdExportMissing alerts on). */
  readonly overdue: boolean;
  /** The next export to come, and when it is late (00:00 Astana on the 6th). */
  readonly next: { readonly month: YearMonth; readonly dueBy: string };
}

export function kgdExportStatus(store: Store, now: Date, utcOffsetMinutes: number): KgdExportStatus {
  const last = latestKgdExport(store);
  const expectedMonth = dueExportMonth(now, utcOffsetMinutes);
  const nextMonth = addMonths(expectedMonth, 1);
  return {
    lastMonth: last?.month ?? null,
    loadedAt: last?.loadedAt ?? null,
    rows: last?.rows ?? null,
    expectedMonth,
    overdue: last === undefined || last.month < expectedMonth,
    next: { month: nextMonth, dueBy: exportDueBy(nextMonth, utcOffsetMinutes).toISOString() },
  };
}
