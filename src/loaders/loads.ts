/**
 * Every kind of file imeiflow loads, and where its rows go: to the cluster (the topics every
 * instance reads, cluster-sinks.ts) when there is one to reach, else into this data directory's
 * store. The CLI and the HTTP loads both take them from here.
 */

import type { Store } from '../store/store.js';
import { BLOCKLIST_SPEC, blocklistSink } from './blocklist-loader.js';
import {
  blocklistClusterSink,
  type ClusterTarget,
  declarationsClusterSink,
  localProductionClusterSink,
  tacClusterSink,
} from './cluster-sinks.js';
import { DECLARATIONS_SPEC, type DeclarationRow, declarationsSink } from './declarations-loader.js';
import {
  type KgdExportContext,
  type KgdExportOutcome,
  recordKgdExport,
  tallyingSink,
} from './kgd-export-month.js';
import { type LoadOptions, type LoadReport, loadTable, type RowSink, type TableSpec } from './load-table.js';
import { LOCAL_PRODUCTION_SPEC, localProductionSink } from './local-production-loader.js';
import { TAC_SPEC, tacSink } from './tac-loader.js';

export const LOAD_KINDS = ['tac', 'declarations', 'blocklist', 'localProduction'] as const;
export type LoadKind = (typeof LOAD_KINDS)[number];

/** Where a load's rows go. */
export type LoadTarget =
  | { readonly kind: 'cluster'; readonly cluster: ClusterTarget }
  | { readonly kind: 'local'; readonly store: Store };

interface LoadSpec<R> {
  readonly spec: TableSpec<string, R>;
  readonly local: (store: Store) => RowSink<R>;
  readonly cluster: (target: ClusterTarget) => RowSink<R>;
}

function spec<R>(s: LoadSpec<R>): LoadSpec<R> {
  return s;
}

const LOADS = {
  tac: spec({ spec: TAC_SPEC, local: tacSink, cluster: tacClusterSink }),
  declarations: spec({ spec: DECLARATIONS_SPEC, local: declarationsSink, cluster: declarationsClusterSink }),
  blocklist: spec({ spec: BLOCKLIST_SPEC, local: blocklistSink, cluster: blocklistClusterSink }),
  localProduction: spec({
    spec: LOCAL_PRODUCTION_SPEC,
    local: localProductionSink,
    cluster: localProductionClusterSink,
  }),
} as const;

/** The audit action of a load (`load.tac`, …), as the HTTP routes name them. */
export function loadAction(kind: LoadKind): string {
  return kind === 'localProduction' ? 'load.local-production' : `load.${kind}`;
}

/** A load's report; a KGD export's also says which month it was recorded as (or why not). */
export interface LoadResult extends LoadReport {
  readonly kgdExport?: KgdExportOutcome;
}

/** The audit trail's words for a load: rows, and a KGD export's month. */
export function loadTarget(report: LoadResult): string {
  const outOfScope = report.rowsOutOfScope > 0 ? `, ${report.rowsOutOfScope} out of scope` : '';
  const rows = `${report.rowsLoaded} rows loaded, ${report.rowsRejected} rejected${outOfScope}`;
  const month = report.kgdExport?.month;
  return month === undefined || month === null ? rows : `${rows}; KGD export of ${month}`;
}

/**
 * Load a file. With `kgdExport`, a declarations file is a KGD monthly export: once its rows are
 * delivered, the month it covers is recorded where the rows went (kgd-export-month.ts).
 */
export async function load(
  kind: LoadKind,
  target: LoadTarget,
  file: string,
  options?: LoadOptions,
  kgdExport?: KgdExportContext,
): Promise<LoadResult> {
  const { spec: table, local, cluster } = LOADS[kind] as LoadSpec<unknown>;
  const sink = target.kind === 'cluster' ? cluster(target.cluster) : local(target.store);
  if (kind !== 'declarations' || kgdExport === undefined) return loadTable(file, table, sink, options);
  const tallying = tallyingSink(sink as RowSink<DeclarationRow>, kgdExport.utcOffsetMinutes);
  const report = await loadTable(file, DECLARATIONS_SPEC, tallying.sink, options);
  const outcome = await recordKgdExport(target, report, tallying.tally(), kgdExport);
  return { ...report, kgdExport: outcome };
}
