/**
 * Devices produced or repaired in Kazakhstan (channel `local`): `imei`, `producer_id` (the
 * producer's BIN), `reference` (the production or repair document), optional `produced_at`.
 */
import { isValidIinBin } from '../domain/ids.js';
import type { LocalProductionRecord } from '../domain/types.js';
import type { Store } from '../store/store.js';
import { parseImeiCell, parseTimestamp } from './fields.js';
import { type LoadOptions, type LoadReport, loadTable, type RowSink, type TableSpec } from './load-table.js';

export interface LocalProductionRow {
  readonly body: string;
  readonly record: LocalProductionRecord;
}

export const LOCAL_PRODUCTION_SPEC: TableSpec<
  'imei' | 'producerId' | 'reference' | 'producedAt',
  LocalProductionRow
> = {
  what: 'local production list',
  columns: [
    { field: 'imei', headers: ['imei'], required: true },
    { field: 'producerId', headers: ['producer_id', 'producer_bin', 'БИН'], required: true },
    { field: 'reference', headers: ['reference', 'document'], required: true },
    { field: 'producedAt', headers: ['produced_at', 'date'], required: false },
  ],
  parseRow(cell, origin) {
    const imei = parseImeiCell(cell('imei'), origin('imei'));
    if (imei instanceof Error) return { ok: false, error: imei.message };
    const producerId = cell('producerId');
    if (!isValidIinBin(producerId))
      return { ok: false, error: `producer_id ${JSON.stringify(producerId)} is not a valid BIN` };
    const reference = cell('reference');
    if (reference.length === 0) return { ok: false, error: 'reference is empty' };
    const raw = cell('producedAt');
    let producedAt: string | null = null;
    if (raw.length > 0) {
      const parsed = parseTimestamp(raw);
      if (parsed instanceof Error) return { ok: false, error: `produced_at: ${parsed.message}` };
      producedAt = parsed;
    }
    return { ok: true, value: { body: imei.body, record: { producerId, reference, producedAt } } };
  },
};

export function localProductionSink(store: Store): RowSink<LocalProductionRow> {
  return {
    async write(rows) {
      await store.env.transaction(() => {
        for (const { value } of rows) store.localProduction.put(value.body, value.record);
      });
      return [];
    },
  };
}

export function loadLocalProduction(store: Store, file: string, options?: LoadOptions): Promise<LoadReport> {
  return loadTable(file, LOCAL_PRODUCTION_SPEC, localProductionSink(store), options);
}
