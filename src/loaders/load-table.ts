/**
 * The one load loop every input file goes through: header mapping, row parsing, batched writes,
 * progress and the report of rejected rows. Each loader only says which columns it wants, how to
 * turn a row into a record, and how to write a batch.
 */
import { performance } from 'node:perf_hooks';
import { ImeiflowError } from '../errors.js';
import { openTable, type TableItem, type TableSource } from './table-source.js';

export interface ColumnSpec<F extends string> {
  readonly field: F;
  /** Accepted headers; compared after `normaliseHeader`. */
  readonly headers: readonly string[];
  readonly required: boolean;
}

export type RowResult<R> =
  /**
   * `warnings`: what was wrong with the row but did not stop it loading, reported on its line.
   * `outOfScope`: a good row about something this service does not keep (a declaration under an HS
   * code outside the exchange): the sink gets it to record what it may, and the report counts it
   * apart from the rows loaded.
   */
  | {
      readonly ok: true;
      readonly value: R;
      readonly warnings?: readonly string[];
      readonly outOfScope?: boolean;
    }
  | { readonly ok: false; readonly error: string };

/** Where a cell's text came from, for what only the file format can tell. */
export interface CellOrigin {
  /** The cell's address (`C7`) in an XLSX sheet; null in a CSV file, where the line says it. */
  readonly ref: string | null;
  /** An XLSX cell holding a number: its text is the number as shown, not as typed. */
  readonly number: boolean;
}

export interface TableSpec<F extends string, R> {
  /** What the file is, for messages: "TAC table". */
  readonly what: string;
  readonly columns: readonly ColumnSpec<F>[];
  parseRow(cell: (field: F) => string, origin: (field: F) => CellOrigin, options: LoadOptions): RowResult<R>;
}

export interface ParsedRow<R> {
  readonly line: number;
  readonly value: R;
}

export interface Rejection {
  readonly line: number;
  readonly error: string;
}

/** A row that loaded, with something in it that did not. */
export interface Warning {
  readonly line: number;
  readonly warning: string;
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
  /**
   * KGD declarations: the HS codes the exchange covers (config `rules.hsCodesInScope`). Rows under
   * another code are counted as out of scope and their IMEIs are not stored. Absent: every code.
   */
  readonly hsCodesInScope?: readonly string[];
}

export interface LoadReport {
  readonly file: string;
  readonly what: string;
  readonly format: 'csv' | 'xlsx';
  readonly rowsRead: number;
  readonly rowsLoaded: number;
  readonly rowsRejected: number;
  /** Good rows about what this service does not keep (RowResult `outOfScope`): not in rowsLoaded. */
  readonly rowsOutOfScope: number;
  /** The first `maxReportedRejections` rejections, in file order. */
  readonly rejections: readonly Rejection[];
  /** Rows loaded with a warning (a field dropped), counted; the first `maxReportedRejections` listed. */
  readonly rowsWarned: number;
  readonly warnings: readonly Warning[];
  /** Where the header was found: the line (CSV) or row (XLSX), and the sheet's name (XLSX). */
  readonly header: { readonly line: number; readonly sheet: string | null };
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

/**
 * How many non-empty rows of a sheet (or a CSV file) may come before its header: exports carry a
 * title («Сведения о выпуске товаров …»), a date line, a blank row.
 */
export const HEADER_SEARCH_ROWS = 20;

type HeaderMatch<F extends string> =
  | { readonly ok: true; readonly mapping: Map<F, number> }
  | { readonly ok: false; readonly missing: readonly string[] };

function matchHeader<F extends string>(
  spec: TableSpec<F, unknown>,
  cells: readonly string[],
): HeaderMatch<F> {
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
  return missing.length === 0 ? { ok: true, mapping } : { ok: false, missing };
}

/** A row looked at as a header and found lacking: the one lacking least is named in the error. */
interface HeaderCandidate {
  readonly line: number;
  readonly sheet: string | null;
  readonly cells: readonly string[];
  readonly missing: readonly string[];
}

function noHeader(
  file: string,
  what: string,
  format: 'csv' | 'xlsx',
  closest: HeaderCandidate,
): ImeiflowError {
  const seen = closest.cells
    .slice(0, 20)
    .map((c) => JSON.stringify(c))
    .join(', ');
  const where =
    format === 'xlsx'
      ? `row ${closest.line} of sheet ${JSON.stringify(closest.sheet ?? '')}`
      : `line ${closest.line}`;
  return new ImeiflowError(
    'LOAD_HEADER_INVALID',
    `${file}: not a ${what}: no header among the first ${HEADER_SEARCH_ROWS} rows${format === 'xlsx' ? ' of any sheet' : ''}; ` +
      `the closest, ${where}, lacks ${closest.missing.join('; ')} (found ${seen || 'nothing'})`,
  );
}

/** `C7`: the spreadsheet address of a 0-based column index and a 1-based row. */
export function cellRef(index: number, row: number): string {
  let column = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    column = String.fromCharCode(65 + ((n - 1) % 26)) + column;
  }
  return `${column}${row}`;
}

export async function loadTable<F extends string, R>(
  file: string,
  spec: TableSpec<F, R>,
  sink: RowSink<R>,
  options: LoadOptions = {},
): Promise<LoadReport> {
  const started = performance.now();
  const source: TableSource = await openTable(file, {
    maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    ...(options.format === undefined ? {} : { format: options.format }),
  });
  const load = new TableLoad(spec, sink, options, source);
  const search = new HeaderSearch(spec, source.format === 'xlsx');
  for await (const item of source.items()) {
    if (search.mapping === undefined) {
      if (item.kind === 'problem') load.rejectUnread(item.line, item.error);
      else if (search.next(item) === 'gave-up') break;
      continue;
    }
    if (item.kind === 'sheet') break;
    await load.row(item, search.mapping);
  }
  const { mapping, header, closest } = search;
  if (mapping === undefined || header === undefined) {
    if (closest !== undefined) throw noHeader(file, spec.what, source.format, closest);
    throw new ImeiflowError(
      'LOAD_HEADER_INVALID',
      `${file}: the file is empty; expected a ${spec.what} with a header row`,
    );
  }
  return load.finish(file, header, performance.now() - started);
}

type RowItem = Extract<TableItem, { kind: 'row' }>;
type ProblemItem = Extract<TableItem, { kind: 'problem' }>;
type SheetItem = Extract<TableItem, { kind: 'sheet' }>;
/**
 * The header: searched for in the first rows of each sheet, in order; the first sheet that has
 * one is loaded and the sheets after it are not read.
 */
class HeaderSearch<F extends string, R> {
  mapping: Map<F, number> | undefined;
  header: { line: number; sheet: string | null } | undefined;
  closest: HeaderCandidate | undefined;
  #sheet: string | null = null;
  #looked = 0;
  readonly #spec: TableSpec<F, R>;
  readonly #xlsx: boolean;

  constructor(spec: TableSpec<F, R>, xlsx: boolean) {
    this.#spec = spec;
    this.#xlsx = xlsx;
  }

  /** Looks at one more item before the header is found; `gave-up` past a CSV file's window. */
  next(item: SheetItem | RowItem): 'looking' | 'gave-up' {
    if (item.kind === 'sheet') {
      this.#sheet = item.name;
      this.#looked = 0;
      return 'looking';
    }
    // Past the search window of this sheet: wait for the next one (a CSV file has no next).
    if (this.#looked >= HEADER_SEARCH_ROWS) return this.#xlsx ? 'looking' : 'gave-up';
    this.#looked++;
    const match = matchHeader(this.#spec, item.cells);
    if (match.ok) {
      this.mapping = match.mapping;
      this.header = { line: item.line, sheet: this.#xlsx ? this.#sheet : null };
    } else if (this.closest === undefined || match.missing.length < this.closest.missing.length) {
      this.closest = { line: item.line, sheet: this.#sheet, cells: item.cells, missing: match.missing };
    }
    return 'looking';
  }
}

/** The rows after the header: parsed, counted, and written in batches. */
class TableLoad<F extends string, R> {
  rowsRead = 0;
  rowsRejected = 0;
  rowsWarned = 0;
  rowsOutOfScope = 0;
  readonly rejections: Rejection[] = [];
  readonly warnings: Warning[] = [];
  #batch: ParsedRow<R>[] = [];
  // One batch is written while the next is parsed; never more, so memory stays bounded.
  #writing: Promise<void> | undefined;
  #lastProgress = 0;
  readonly #spec: TableSpec<F, R>;
  readonly #sink: RowSink<R>;
  readonly #options: LoadOptions;
  readonly #source: TableSource;
  readonly #batchRows: number;
  readonly #maxReported: number;

  constructor(spec: TableSpec<F, R>, sink: RowSink<R>, options: LoadOptions, source: TableSource) {
    this.#spec = spec;
    this.#sink = sink;
    this.#options = options;
    this.#source = source;
    this.#batchRows = options.batchRows ?? 10_000;
    this.#maxReported = options.maxReportedRejections ?? 1000;
  }

  #reject(rejection: Rejection): void {
    this.rowsRejected++;
    if (this.rejections.length < this.#maxReported) this.rejections.push(rejection);
  }

  /** A line that could not be read before the header was found: read, and rejected. */
  rejectUnread(line: number, error: string): void {
    this.rowsRead++;
    this.#reject({ line, error });
  }

  async row(item: ProblemItem | RowItem, fields: Map<F, number>): Promise<void> {
    this.rowsRead++;
    if (item.kind === 'problem') this.#reject({ line: item.line, error: item.error });
    else this.#parse(item, fields);
    if (this.#batch.length >= this.#batchRows) await this.#flush();
    if (this.#options.onProgress !== undefined && (this.rowsRead & 0x3fff) === 0) {
      const now = performance.now();
      if (now - this.#lastProgress > 200) {
        this.#lastProgress = now;
        this.#progress();
      }
    }
  }

  #parse({ cells, line, numberCells }: RowItem, fields: Map<F, number>): void {
    const xlsx = this.#source.format === 'xlsx';
    const parsed = this.#spec.parseRow(
      (field) => {
        const index = fields.get(field);
        return index === undefined ? '' : (cells[index] ?? '').trim();
      },
      (field) => {
        const index = fields.get(field);
        return {
          ref: xlsx && index !== undefined ? cellRef(index, line) : null,
          number: index !== undefined && numberCells?.includes(index) === true,
        };
      },
      this.#options,
    );
    if (!parsed.ok) {
      this.#reject({ line, error: parsed.error });
      return;
    }
    this.#batch.push({ line, value: parsed.value });
    if (parsed.outOfScope === true) this.rowsOutOfScope++;
    if (parsed.warnings !== undefined && parsed.warnings.length > 0) {
      this.rowsWarned++;
      for (const warning of parsed.warnings) {
        if (this.warnings.length < this.#maxReported) this.warnings.push({ line, warning });
      }
    }
  }

  async #flush(): Promise<void> {
    const rows = this.#batch;
    this.#batch = [];
    if (this.#writing !== undefined) await this.#writing;
    const writing = this.#sink.write(rows).then((refused) => {
      for (const r of refused) this.#reject(r);
    });
    // Awaited by the next flush or by `finish`; meanwhile the rows after it are read, and a
    // failure must not be an unhandled rejection then (the process stops on one).
    writing.catch(() => undefined);
    this.#writing = writing;
  }

  #progress(): void {
    this.#options.onProgress?.({
      rowsRead: this.rowsRead,
      rowsRejected: this.rowsRejected,
      bytesRead: this.#source.bytesRead(),
      totalBytes: this.#source.totalBytes,
    });
  }

  async finish(file: string, header: LoadReport['header'], durationMs: number): Promise<LoadReport> {
    if (this.#batch.length > 0) await this.#flush();
    if (this.#writing !== undefined) await this.#writing;
    this.#progress();
    this.rejections.sort((a, b) => a.line - b.line);
    const { rowsRead, rowsRejected, rowsOutOfScope } = this;
    return {
      file,
      what: this.#spec.what,
      format: this.#source.format,
      rowsRead,
      rowsLoaded: rowsRead - rowsRejected - rowsOutOfScope,
      rowsRejected,
      rowsOutOfScope,
      rejections: this.rejections,
      rowsWarned: this.rowsWarned,
      warnings: this.warnings,
      header,
      durationMs,
      rowsPerSecond: durationMs > 0 ? Math.round((rowsRead / durationMs) * 1000) : 0,
    };
  }
}
