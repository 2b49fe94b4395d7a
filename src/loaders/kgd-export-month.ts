/**
 * Recording which month a loaded KGD export covers (seed 000 §11; src/domain/kgd-export.ts says
 * how the month is chosen). While the file loads, the decisions' dates are tallied by month; once
 * every row is delivered, the month is decided and a record published to the `exports` topic,
 * which every instance applies (src/pipeline/global-tables.ts) — or, for a CLI load without a
 * cluster, written to the local store.
 */
import {
  type ExportMonthVerdict,
  exportMonthOf,
  type MonthTally,
  monthOfInstant,
  type YearMonth,
} from '../domain/kgd-export.js';
import { kgdExportKey, putKgdExport } from '../store/kgd-exports.js';
import type { KgdExportRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ClusterTarget } from './cluster-sinks.js';
import type { DeclarationRow } from './declarations-loader.js';
import type { LoadReport, RowSink } from './load-table.js';

/** What a KGD export load needs to record its month. */
export interface KgdExportContext {
  /** Who loads it (a token's name, `cli:<user>`). */
  readonly actor: string;
  /** The file's name as its sender knows it. */
  readonly fileName: string;
  /** The month given with the load (`--month`, `?month=`); null: from the decisions' dates. */
  readonly month: YearMonth | null;
  /** Astana: `pending.utcOffsetMinutes`. */
  readonly utcOffsetMinutes: number;
  readonly now?: () => Date;
}

/** What the load report says about the month. */
export interface KgdExportOutcome {
  /** The month the file was recorded as the export of; null: not recorded. */
  readonly month: YearMonth | null;
  readonly from: ExportMonthVerdict['from'];
  readonly warnings: readonly string[];
}

/** Passes rows through to `sink`, counting their decision dates by Astana month. */
export function tallyingSink(
  sink: RowSink<DeclarationRow>,
  utcOffsetMinutes: number,
): { readonly sink: RowSink<DeclarationRow>; tally(): MonthTally } {
  const months = new Map<YearMonth, number>();
  let undated = 0;
  // Exports repeat one decision time over many rows.
  let lastAt: string | null = null;
  let lastMonth: YearMonth = '';
  return {
    sink: {
      write(rows) {
        for (const { value } of rows) {
          const at = value.entry.decidedAt;
          if (at === null) {
            undated++;
            continue;
          }
          if (at !== lastAt) {
            lastAt = at;
            lastMonth = monthOfInstant(new Date(at), utcOffsetMinutes);
          }
          months.set(lastMonth, (months.get(lastMonth) ?? 0) + 1);
        }
        return sink.write(rows);
      },
    },
    tally: () => ({ months, undated }),
  };
}

/** Where the record goes: the cluster's `exports` topic, or this data directory's store. */
export type KgdExportTarget =
  | { readonly kind: 'cluster'; readonly cluster: ClusterTarget }
  | { readonly kind: 'local'; readonly store: Store };

/**
 * Decide the month of a finished load and record it. Call only once the load's rows are
 * delivered: the record says the month's decisions are in the index.
 */
export async function recordKgdExport(
  target: KgdExportTarget,
  report: LoadReport,
  tally: MonthTally,
  context: KgdExportContext,
): Promise<KgdExportOutcome> {
  const now = context.now?.() ?? new Date();
  const verdict = exportMonthOf(tally, context.month, now, context.utcOffsetMinutes);
  // An empty export (no decisions that month) counts when its month is given; a file whose every
  // row was rejected does not count at all.
  if (report.rowsRead > 0 && report.rowsLoaded === 0) {
    return {
      month: null,
      from: null,
      warnings: [...verdict.warnings, 'no row loaded: not recorded as a monthly export'],
    };
  }
  if (verdict.month === null || verdict.from === null) return verdict;
  const record: KgdExportRecord = {
    month: verdict.month,
    monthFrom: verdict.from,
    file: context.fileName,
    rows: report.rowsLoaded,
    loadedAt: now.toISOString(),
    actor: context.actor,
  };
  if (target.kind === 'cluster') {
    const { sink, topics } = target.cluster;
    await sink.send([
      {
        topic: topics.exports,
        partition: null,
        key: kgdExportKey(record.month),
        value: Buffer.from(JSON.stringify(record)),
      },
    ]);
  } else {
    await putKgdExport(target.store, record);
  }
  return verdict;
}
