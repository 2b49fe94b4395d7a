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
import { DECLARATIONS_SPEC, declarationsSink } from './declarations-loader.js';
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

export function load(
  kind: LoadKind,
  target: LoadTarget,
  file: string,
  options?: LoadOptions,
): Promise<LoadReport> {
  const { spec: table, local, cluster } = LOADS[kind] as LoadSpec<unknown>;
  const sink = target.kind === 'cluster' ? cluster(target.cluster) : local(target.store);
  return loadTable(file, table, sink, options);
}
