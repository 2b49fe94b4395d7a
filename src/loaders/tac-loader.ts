/**
 * The GSMA TAC database export: pipe- or comma-separated, GSMA's own headers or snake_case.
 * Two rows of the file for one TAC that disagree are reported, not merged: the first wins.
 */
import { isTac } from '../domain/imei.js';
import type { TacRecord } from '../domain/types.js';
import { bumpTacVersion, type Store } from '../store/store.js';
import { parseGsmaDate } from './fields.js';
import {
  type LoadOptions,
  type LoadReport,
  loadTable,
  type ParsedRow,
  type Rejection,
  type RowSink,
  type TableSpec,
} from './load-table.js';

type TacField =
  | 'tac'
  | 'marketingName'
  | 'internalModelName'
  | 'manufacturer'
  | 'bands'
  | 'allocationDate'
  | 'brand'
  | 'model'
  | 'operatingSystem'
  | 'deviceType';

export const TAC_SPEC: TableSpec<TacField, TacRecord> = {
  what: 'GSMA TAC table',
  columns: [
    { field: 'tac', headers: ['TAC'], required: true },
    { field: 'marketingName', headers: ['Marketing Name'], required: true },
    { field: 'internalModelName', headers: ['Internal Model Name'], required: false },
    { field: 'manufacturer', headers: ['Manufacturer', 'Manufacturer (or) Applicant'], required: true },
    { field: 'bands', headers: ['Bands'], required: false },
    { field: 'allocationDate', headers: ['Allocation Date'], required: false },
    { field: 'brand', headers: ['Brand Name', 'Brand'], required: false },
    { field: 'model', headers: ['Model Name', 'Model'], required: false },
    { field: 'operatingSystem', headers: ['Operating System'], required: false },
    { field: 'deviceType', headers: ['Device Type'], required: false },
  ],
  parseRow(cell) {
    const tac = cell('tac');
    if (!isTac(tac)) return { ok: false, error: `TAC ${JSON.stringify(tac)} is not 8 digits` };
    if (tac === '00000000') return { ok: false, error: 'TAC 00000000 is not a real allocation' };
    const rawDate = cell('allocationDate');
    let allocationDate: string | null = null;
    if (rawDate.length > 0) {
      const parsed = parseGsmaDate(rawDate);
      if (parsed instanceof Error) return { ok: false, error: `Allocation Date ${parsed.message}` };
      allocationDate = parsed;
    }
    const marketingName = cell('marketingName');
    const manufacturer = cell('manufacturer');
    const model = cell('model') || cell('internalModelName') || marketingName;
    const brand = cell('brand') || manufacturer;
    if (model.length === 0 && brand.length === 0)
      return { ok: false, error: 'row names neither a brand nor a model' };
    return {
      ok: true,
      value: {
        tac,
        brand,
        model,
        marketingName,
        manufacturer,
        deviceType: cell('deviceType') || 'Unknown',
        operatingSystem: cell('operatingSystem'),
        bands: cell('bands'),
        allocationDate,
      },
    };
  },
};

function differences(a: TacRecord, b: TacRecord): string[] {
  const fields: (keyof TacRecord)[] = [
    'brand',
    'model',
    'marketingName',
    'manufacturer',
    'deviceType',
    'operatingSystem',
    'bands',
    'allocationDate',
  ];
  return fields.filter((f) => a[f] !== b[f]);
}

/**
 * Two rows of one file for one TAC with different data are reported, not silently merged: the
 * first is kept. Remembers each TAC's first row (a TAC table is a few hundred thousand rows).
 */
export type TacDeduplicator = (rows: readonly ParsedRow<TacRecord>[]) => {
  accepted: TacRecord[];
  refused: Rejection[];
};

export function tacDeduplicator(): TacDeduplicator {
  const seen = new Map<string, { line: number; record: TacRecord }>();
  return (rows) => {
    const refused: Rejection[] = [];
    const accepted: TacRecord[] = [];
    for (const { line, value } of rows) {
      const first = seen.get(value.tac);
      if (first === undefined) {
        seen.set(value.tac, { line, record: value });
        accepted.push(value);
        continue;
      }
      const diff = differences(first.record, value);
      if (diff.length > 0) {
        refused.push({
          line,
          error: `TAC ${value.tac} conflicts with line ${first.line} (${diff.join(', ')} differ); kept line ${first.line}`,
        });
      }
    }
    return { accepted, refused };
  };
}

/** Into this instance's store only (no Kafka: the CLI with no cluster to reach, and tests). */
export function tacSink(store: Store): RowSink<TacRecord> {
  const dedupe = tacDeduplicator();
  return {
    async write(rows) {
      const { accepted, refused } = dedupe(rows);
      await store.env.transaction(() => {
        for (const record of accepted) store.tac.put(record.tac, record);
        bumpTacVersion(store);
      });
      return refused;
    },
  };
}

export function loadTac(store: Store, file: string, options?: LoadOptions): Promise<LoadReport> {
  return loadTable(file, TAC_SPEC, tacSink(store), options);
}
