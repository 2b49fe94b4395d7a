/** The block list: `imei`, optional `reason`, `source`, `since`. */
import type { BlockEntry } from '../domain/types.js';
import type { Store } from '../store/store.js';
import { parseImeiCell, parseTimestamp } from './fields.js';
import { type LoadOptions, type LoadReport, loadTable, type RowSink, type TableSpec } from './load-table.js';

export interface BlockRow {
  readonly body: string;
  readonly entry: BlockEntry;
}

export const BLOCKLIST_SPEC: TableSpec<'imei' | 'reason' | 'source' | 'since', BlockRow> = {
  what: 'block list',
  columns: [
    { field: 'imei', headers: ['imei'], required: true },
    { field: 'reason', headers: ['reason', 'причина'], required: false },
    { field: 'source', headers: ['source', 'источник'], required: false },
    { field: 'since', headers: ['since', 'date', 'дата'], required: false },
  ],
  parseRow(cell, origin) {
    const imei = parseImeiCell(cell('imei'), origin('imei'));
    if (imei instanceof Error) return { ok: false, error: imei.message };
    const rawSince = cell('since');
    let since: string | null = null;
    if (rawSince.length > 0) {
      const parsed = parseTimestamp(rawSince);
      if (parsed instanceof Error) return { ok: false, error: `since: ${parsed.message}` };
      since = parsed;
    }
    return {
      ok: true,
      value: {
        body: imei.body,
        entry: { source: cell('source') || 'block list file', reason: cell('reason') || 'listed', since },
      },
    };
  },
};

export function blocklistSink(store: Store): RowSink<BlockRow> {
  return {
    async write(rows) {
      await store.env.transaction(() => {
        for (const { value } of rows) store.blocklist.put(value.body, value.entry);
      });
      return [];
    },
  };
}

export function loadBlocklist(store: Store, file: string, options?: LoadOptions): Promise<LoadReport> {
  return loadTable(file, BLOCKLIST_SPEC, blocklistSink(store), options);
}
