/**
 * Reads a CSV or XLSX file as a stream of rows of cell strings, each with the line (CSV) or row
 * number (XLSX) a user would find it at. Problems with single rows are items of the stream, not
 * exceptions: the load reports them and goes on.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import ExcelJS from 'exceljs';
import { ImeiflowError, messageOf } from '../errors.js';
import { detectDelimiter, splitRecord } from './csv-record.js';
import { readLines } from './line-reader.js';

export type TableItem =
  | { readonly kind: 'row'; readonly line: number; readonly cells: readonly string[] }
  | { readonly kind: 'problem'; readonly line: number; readonly error: string };

export interface TableSource {
  readonly format: 'csv' | 'xlsx';
  readonly totalBytes: number;
  bytesRead(): number;
  items(): AsyncIterable<TableItem>;
}

export interface TableSourceOptions {
  /** A longer CSV line (or record spanning lines) is reported and skipped. */
  readonly maxLineBytes: number;
  /** Overrides detection from the file name (uploads arrive without one). */
  readonly format?: 'csv' | 'xlsx';
}

function formatOf(path: string): 'csv' | 'xlsx' {
  const ext = extname(path).toLowerCase();
  if (ext === '.xlsx') return 'xlsx';
  if (ext === '.xls') {
    throw new ImeiflowError(
      'LOAD_FORMAT_UNSUPPORTED',
      `${path}: the old binary .xls format is not supported; save the sheet as .xlsx or .csv`,
    );
  }
  return 'csv';
}

export async function openTable(path: string, options: TableSourceOptions): Promise<TableSource> {
  let totalBytes: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    totalBytes = info.size;
  } catch (error) {
    throw new ImeiflowError('LOAD_FILE_UNREADABLE', `cannot read ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const format = options.format ?? formatOf(path);
  let bytesRead = 0;
  const onBytes = (n: number): void => {
    bytesRead = n;
  };
  return {
    format,
    totalBytes,
    bytesRead: () => bytesRead,
    items: () =>
      format === 'xlsx' ? xlsxItems(path, onBytes) : csvItems(path, options.maxLineBytes, onBytes),
  };
}

async function* csvItems(
  path: string,
  maxLineBytes: number,
  onBytes: (n: number) => void,
): AsyncGenerator<TableItem> {
  let delimiter: string | undefined;
  // A quoted field spanning lines: the record so far and the line it started on.
  let carried: string | undefined;
  let carriedFrom = 0;
  for await (const item of readLines(path, { maxLineBytes, onBytes })) {
    if (item.kind === 'too-long') {
      carried = undefined;
      yield {
        kind: 'problem',
        line: item.line,
        error: `line is ${item.bytes} bytes long; the limit is ${maxLineBytes}`,
      };
      continue;
    }
    const text = carried === undefined ? item.text : `${carried}\n${item.text}`;
    const line = carried === undefined ? item.line : carriedFrom;
    if (carried === undefined && text.trim().length === 0) continue;
    delimiter ??= detectDelimiter(text);
    const split = splitRecord(text, delimiter);
    if (split.kind === 'open-quote') {
      if (text.length > maxLineBytes) {
        carried = undefined;
        yield { kind: 'problem', line, error: `quoted field is not closed within ${maxLineBytes} bytes` };
      } else {
        carried = text;
        carriedFrom = line;
      }
      continue;
    }
    carried = undefined;
    if (split.kind === 'error') yield { kind: 'problem', line, error: split.error };
    else yield { kind: 'row', line, cells: split.fields };
  }
  if (carried !== undefined)
    yield { kind: 'problem', line: carriedFrom, error: 'quoted field is not closed at the end of the file' };
}

/** An Excel cell as the text a person sees in it. */
function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    // IMEIs typed into Excel become numbers; 15 digits fit a double exactly, print them whole.
    return Number.isInteger(value) ? BigInt(value).toString() : String(value);
  }
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((part) => part.text).join('');
    if ('text' in value && typeof value.text === 'string') return value.text;
    if ('result' in value) return cellText(value.result as ExcelJS.CellValue);
    if ('error' in value) return '';
  }
  return String(value);
}

async function* xlsxItems(path: string, onBytes: (n: number) => void): AsyncGenerator<TableItem> {
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  let read = 0;
  input.on('data', (chunk) => {
    read += chunk.length;
    onBytes(read);
  });
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(input, {
    entries: 'emit',
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    // Styles tell which numbers are dates.
    styles: 'cache',
    worksheets: 'emit',
  });
  try {
    // The KGD export has one sheet; only the first is read.
    for await (const sheet of reader) {
      for await (const row of sheet) {
        const values = row.values as ExcelJS.CellValue[];
        const cells: string[] = [];
        // ExcelJS rows are 1-based: index 0 is always empty.
        for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]).trim());
        if (cells.every((c) => c.length === 0)) continue;
        yield { kind: 'row', line: row.number, cells };
      }
      break;
    }
  } catch (error) {
    throw new ImeiflowError(
      'LOAD_FILE_UNREADABLE',
      `${path} is not a readable XLSX workbook: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    input.destroy();
  }
}
