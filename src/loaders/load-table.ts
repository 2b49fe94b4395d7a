/**
 * The one load loop every input file goes through: header mapping, row parsing, batched writes,
 * progress and the report of rejected rows. Each loader only says which columns it wants, how to
 * turn a row into a record, and how to write a batch.
 */
import { performance } from 'node:perf_hooks';
import { ImeiflowError } from '../errors.js';
import { openTable, type TableSource } from './table-source.js';

export interface ColumnSpec<F extends string> {
  readonly field: F;
  /** Accepted headers; compared after `normaliseHeader`. */
  readonly headers: readonly string[];
  readonly required: boolean;
}

export type RowResult<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: string };

export interface TableSpec<F extends string, R> {
  /** What the file is, for messages: "TAC table". */
  readonly what: string;
  readonly columns: readonly ColumnSpec<F>[];
  parseRow(cell: (field: F) => string): RowResult<R>;
}

export interface ParsedRow<R> {
  readonly line: number;
  readonly value: R;
}

export interface Rejection {
  readonly line: number;
  readonly error: string;
}

/** Writes batches of parsed rows; returns the rows it refused (conflicts found against the file). */
export interface RowSink<R> {
  write(rows: readonly ParsedRow<R>[]): Promise<readonly Rejection[]>;
}

export interface LoadProgress {
  readonly rowsRead: number;
  readonly rowsRejected: number;
  readonly bytesRead: number;
  readonly totalBytes: number;
}

export interface LoadOptions {
  readonly batchRows?: number;
  readonly maxLineBytes?: number;
  /** How many rejections are kept with their line for the report; all are counted. */
  readonly maxReportedRejections?: number;
  readonly onProgress?: (progress: LoadProgress) => void;
  readonly format?: 'csv' | 'xlsx';
}

export interface LoadReport {
  readonly file: string;
  readonly what: string;
  readonly format: 'csv' | 'xlsx';
  readonly rowsRead: number;
  readonly rowsLoaded: number;
  readonly rowsRejected: number;
  /** The first `maxReportedRejections` rejections, in file order. */
  readonly rejections: readonly Rejection[];
  readonly durationMs: number;
  readonly rowsPerSecond: number;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

/** Case-, space- and punctuation-insensitive header form: "ID заявки" → "idзаявки". */
export function normaliseHeader(header: string): string {
  return header
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}

function mapHeader<F extends string>(
  spec: TableSpec<F, unknown>,
  cells: readonly string[],
  file: string,
): Map<F, number> {
  const positions = new Map<string, number>();
  cells.forEach((cell, index) => {
    const key = normaliseHeader(cell);
    if (key.length > 0 && !positions.has(key)) positions.set(key, index);
  });
  const mapping = new Map<F, number>();
  const missing: string[] = [];
  for (const column of spec.columns) {
    let found: number | undefined;
    for (const header of column.headers) {
      found = positions.get(normaliseHeader(header));
      if (found !== undefined) break;
    }
    if (found !== undefined) mapping.set(column.field, found);
    else if (column.required) missing.push(column.headers.map((h) => `"${h}"`).join(' or '));
  }
  if (missing.length > 0) {
    const seen = cells
      .slice(0, 20)
      .map((c) => JSON.stringify(c))
      .join(', ');
    throw new ImeiflowError(
      'LOAD_HEADER_INVALID',
      `${file}: not a ${spec.what}: the header lacks ${missing.join('; ')} (found ${seen || 'nothing'})`,
    );
  }
  return mapping;
}

export async function loadTable<F extends string, R>(
  file: string,
  spec: TableSpec<F, R>,
  sink: RowSink<R>,
  options: LoadOptions = {},
): Promise<LoadReport> {
  const started = performance.now();
  const batchRows = options.batchRows ?? 10_000;
  const maxReported = options.maxReportedRejections ?? 1000;
  const source: TableSource = await openTable(file, {
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    ...(options.format === undefined ? {} : { format: options.format }),
  });

  let rowsRead = 0;
  let rowsRejected = 0;
  const rejections: Rejection[] = [];
  const reject = (rejection: Rejection): void => {
    rowsRejected++;
    if (rejections.length < maxReported) rejections.push(rejection);
  };
  let mapping: Map<F, number> | undefined;
  let batch: ParsedRow<R>[] = [];
  // One batch is written while the next is parsed; never more, so memory stays bounded.
  let writing: Promise<void> | undefined;
  let lastProgress = 0;

  const flush = async (): Promise<void> => {
    const rows = batch;
    batch = [];
    if (writing !== undefined) await writing;
    writing = sink.write(rows).then((refused) => {
      for (const r of refused) reject(r);
    });
  };
  const progress = (): void => {
    options.onProgress?.({
      rowsRead,
      rowsRejected,
      bytesRead: source.bytesRead(),
      totalBytes: source.totalBytes,
    });
  };

  for await (const item of source.items()) {
    if (mapping === undefined) {
      if (item.kind === 'problem') {
        rowsRead++;
        reject({ line: item.line, error: item.error });
        continue;
      }
      mapping = mapHeader(spec, item.cells, file);
      continue;
    }
    rowsRead++;
    if (item.kind === 'problem') {
      reject({ line: item.line, error: item.error });
    } else {
      const { cells } = item;
      const fields = mapping;
      const parsed = spec.parseRow((field) => {
        const index = fields.get(field);
        return index === undefined ? '' : (cells[index] ?? '').trim();
      });
      if (parsed.ok) batch.push({ line: item.line, value: parsed.value });
      else reject({ line: item.line, error: parsed.error });
    }
    if (batch.length >= batchRows) await flush();
    if (options.onProgress !== undefined && (rowsRead & 0x3fff) === 0) {
      const now = performance.now();
      if (now - lastProgress > 200) {
        lastProgress = now;
        progress();
      }
    }
  }
  if (mapping === undefined) {
    throw new ImeiflowError(
      'LOAD_HEADER_INVALID',
      `${file}: the file is empty; expected a ${spec.what} with a header row`,
    );
  }
  if (batch.length > 0) await flush();
  if (writing !== undefined) await writing;
  progress();
  rejections.sort((a, b) => a.line - b.line);
  const durationMs = performance.now() - started;
  return {
    file,
    what: spec.what,
    format: source.format,
    rowsRead,
    rowsLoaded: rowsRead - rowsRejected,
    rowsRejected,
    rejections,
    durationMs,
    rowsPerSecond: durationMs > 0 ? Math.round((rowsRead / durationMs) * 1000) : 0,
  };
}
