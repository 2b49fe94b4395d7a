/**
 * Reads a CSV or XLSX file as a stream of rows of cell strings, each with the line (CSV) or row
 * number (XLSX) a user would find it at. Problems with single rows are items of the stream, not
 * exceptions: the load reports them and goes on.
 */
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type ExcelJS from 'exceljs';
import { ImeiflowError, messageOf } from '../errors.js';
import { detectDelimiter, splitRecord } from './csv-record.js';
import { numberAsShown } from './excel-number.js';
import { readLines } from './line-reader.js';
import { workbookSheets } from './xlsx-sheets.js';

export type TableItem =
  | {
      readonly kind: 'row';
      readonly line: number;
      readonly cells: readonly string[];
      /**
       * XLSX: the indexes of `cells` that hold a number, not text. A number has lost whatever
       * its digits looked like when typed (a leading 0), so a caller that needs digits as typed
       * (an IMEI) must know.
       */
      readonly numberCells?: readonly number[];
    }
  | { readonly kind: 'problem'; readonly line: number; readonly error: string }
  /** XLSX: the rows that follow are from this worksheet. */
  | { readonly kind: 'sheet'; readonly name: string };

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

/** An OLE2 compound file: Excel 97–2003 `.xls` (and password-protected `.xlsx`). */
const OLE2_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
/** A ZIP archive, which every `.xlsx` is. */
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/**
 * The format from the file's first bytes, then its name: an upload's declared type or a file's
 * name can be wrong, its content cannot.
 */
function formatOf(path: string, head: Buffer, declared: 'csv' | 'xlsx' | undefined): 'csv' | 'xlsx' {
  if (head.subarray(0, OLE2_MAGIC.length).equals(OLE2_MAGIC)) {
    throw new ImeiflowError(
      'LOAD_FORMAT_UNSUPPORTED',
      `${path} is an Excel 97–2003 workbook (.xls, an OLE2 compound file), which imeiflow does not read. ` +
        'Convert it to .xlsx and load that: libreoffice --headless --convert-to xlsx FILE.xls ' +
        '(or open it in Excel and save as .xlsx). A password-protected .xlsx is such a file too: remove the password first.',
    );
  }
  if (head.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC)) return 'xlsx';
  if (declared !== undefined) return declared;
  const ext = extname(path).toLowerCase();
  if (ext === '.xlsx') return 'xlsx';
  if (ext === '.xls') {
    throw new ImeiflowError(
      'LOAD_FORMAT_UNSUPPORTED',
      `${path} is named .xls but is not an Excel workbook; save the sheet as .xlsx or .csv`,
    );
  }
  return 'csv';
}

async function headOf(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(OLE2_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export async function openTable(path: string, options: TableSourceOptions): Promise<TableSource> {
  let totalBytes: number;
  let head: Buffer;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    totalBytes = info.size;
    head = await headOf(path);
  } catch (error) {
    throw new ImeiflowError('LOAD_FILE_UNREADABLE', `cannot read ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const format = formatOf(path, head, options.format);
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

const OPEN_QUOTE = { kind: 'open-quote' } as const;

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
    // The first line with a delimiter fixes it: a title line above the header may have none.
    delimiter ??= detectDelimiter(text);
    // Inside a quoted field, only a quote can end it: a line without one leaves the record open,
    // and it is not split again (splitting at every line made a long one quadratic).
    const split =
      carried !== undefined && !item.text.includes('"') ? OPEN_QUOTE : splitRecord(text, delimiter ?? ',');
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

/**
 * An Excel cell as the text a person sees in it. A number is shown with the leading zeros its
 * number format adds (a format of fifteen zeros shows `013263001234565`, not `13263001234565`).
 */
function cellText(value: ExcelJS.CellValue, numFmt: string | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberAsShown(value, numFmt);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((part) => part.text).join('');
    if ('text' in value && typeof value.text === 'string') return value.text;
    if ('result' in value) return cellText(value.result as ExcelJS.CellValue, numFmt);
    if ('error' in value) return '';
  }
  return String(value);
}

/** The number a cell holds, directly or as a formula's result; undefined for anything else. */
function numberIn(value: ExcelJS.CellValue): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && 'result' in value && typeof value.result === 'number')
    return value.result;
  return undefined;
}

async function* xlsxItems(path: string, onBytes: (n: number) => void): AsyncGenerator<TableItem> {
  try {
    // Every sheet is read in order; the load stops after the first one with a header.
    for await (const sheet of workbookSheets(path, onBytes)) {
      yield { kind: 'sheet', name: (sheet as unknown as { name?: string }).name ?? '' };
      for await (const row of sheet) {
        const values = row.values as ExcelJS.CellValue[];
        const cells: string[] = [];
        const numberCells: number[] = [];
        // ExcelJS rows are 1-based: index 0 is always empty.
        for (let i = 1; i < values.length; i++) {
          const value = values[i];
          const isNumber = numberIn(value) !== undefined;
          cells.push(cellText(value, isNumber ? row.findCell(i)?.numFmt : undefined).trim());
          if (isNumber) numberCells.push(i - 1);
        }
        if (cells.every((c) => c.length === 0)) continue;
        yield numberCells.length === 0
          ? { kind: 'row', line: row.number, cells }
          : { kind: 'row', line: row.number, cells, numberCells };
      }
    }
  } catch (error) {
    throw new ImeiflowError(
      'LOAD_FILE_UNREADABLE',
      `${path} is not a readable XLSX workbook: ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
}
