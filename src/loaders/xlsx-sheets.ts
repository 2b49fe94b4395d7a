/**
 * The sheets of an XLSX workbook, each read row by row, found through the zip's central directory.
 *
 * ExcelJS's streaming reader reads the zip in one pass, in the order its parts are stored. An
 * Excel writer may store the workbook's part (sheet names) and styles (number formats, which
 * show an IMEI's leading zero) after the sheets, and ExcelJS then either parks each sheet in a
 * temporary file until it has them, or parses a sheet without them: on Node 20 that pass now and
 * then lost the workbook's part, and a good workbook was refused as unreadable (exceljs issue
 * #3064, about 1 % of the test suite's three-sheet workbooks), and a parked sheet handed over but
 * not read had its file removed while it was still opening, an error nobody could catch that
 * stopped the service (2 in 400 loads). Here the central directory is read first, then the
 * relationships, the workbook, the shared strings and the styles, each parsed by ExcelJS's own
 * reader, and only then the sheets, in their number's order, each inflated as its rows are read.
 * Nothing is written to a temporary file, and every file stream is closed when the reading ends,
 * however it ends.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import ExcelJS from 'exceljs';
import unzipper, { type ZipFile } from 'unzipper';

type WorksheetReader = ExcelJS.stream.xlsx.WorksheetReader;

/**
 * What ExcelJS's WorkbookReader (4.4) parses each part of a workbook with; its own `parse` calls
 * them in the order the parts are stored, this module in the order they are needed.
 */
interface WorkbookParts {
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncIterable<unknown>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseWorksheet(
    chunks: AsyncIterable<Buffer>,
    sheetNo: string,
  ): Iterable<{ eventType: string; value: WorksheetReader }>;
}

const OPTIONS = {
  sharedStrings: 'cache',
  hyperlinks: 'ignore',
  // Styles tell which numbers are dates, and the number formats that show leading zeros.
  styles: 'cache',
  worksheets: 'emit',
} as const;

const SHEET = /^xl\/worksheets\/sheet(\d+)\.xml$/;

/**
 * The most a part that ExcelJS keeps whole in memory may inflate to: a few kilobytes of zip can
 * inflate to gigabytes (a 402 KB workbook held 384 MB of shared strings), and the process would
 * run out of memory. The shared strings of a month's KGD export of a million rows inflate to
 * tens of megabytes. Sheets are read row by row and have no such limit.
 */
export const PART_LIMITS = { sharedStrings: 256 * 2 ** 20, other: 16 * 2 ** 20 };

/**
 * The workbook's sheets in order; `onBytes` is told how far into the file the reading is (the
 * compressed bytes of the parts read, and of the sheet being read in proportion to its rows).
 */
export async function* workbookSheets(
  path: string,
  onBytes: (n: number) => void,
  limits: typeof PART_LIMITS = PART_LIMITS,
): AsyncGenerator<WorksheetReader> {
  const opened = new Set<ReadStream>();
  /** The parts being read: a file stream that fails fails them (unzipper tells them nothing). */
  const reading = new Set<Readable>();
  const source = {
    stream(offset: number, length?: number): Readable {
      const stream = createReadStream(
        path,
        length === undefined ? { start: offset } : { start: offset, end: offset + length },
      );
      opened.add(stream);
      stream.once('close', () => opened.delete(stream));
      stream.on('error', (error) => {
        for (const part of reading) part.destroy(error);
      });
      return stream;
    },
    size: async () => (await stat(path)).size,
  };
  try {
    const zip = await unzipper.Open.custom(source);
    const part = (name: string) => zip.files.find((file) => file.path === name);
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, OPTIONS) as unknown as WorkbookParts;
    let done = 0;
    const read = (file: ZipFile, limit = Number.POSITIVE_INFINITY): Readable => {
      const counter = counted(file, limit, (n) => onBytes(done + n));
      reading.add(counter);
      counter.once('close', () => reading.delete(counter));
      counter.once('end', () => {
        done += file.compressedSize;
        onBytes(done);
      });
      return counter;
    };
    const rels = part('xl/_rels/workbook.xml.rels');
    const workbook = part('xl/workbook.xml');
    if (rels === undefined || workbook === undefined)
      throw new Error('it has no xl/workbook.xml or no xl/_rels/workbook.xml.rels');
    await reader._parseRels(read(rels, limits.other));
    await reader._parseWorkbook(read(workbook, limits.other));
    const strings = part('xl/sharedStrings.xml');
    if (strings !== undefined)
      for await (const _ of reader._parseSharedStrings(read(strings, limits.sharedStrings)));
    const styles = part('xl/styles.xml');
    if (styles !== undefined) await reader._parseStyles(read(styles, limits.other));
    const sheets = zip.files
      .map((file) => ({ file, number: SHEET.exec(file.path)?.[1] }))
      .filter((sheet): sheet is { file: ZipFile; number: string } => sheet.number !== undefined)
      .sort((a, b) => Number(a.number) - Number(b.number));
    for (const { file, number } of sheets) {
      // Opened only when its rows are read: a sheet handed over and not read opens nothing.
      for (const { value } of reader._parseWorksheet(
        lazily(() => read(file)),
        number,
      ))
        yield value;
    }
  } finally {
    for (const stream of opened) stream.destroy();
  }
}

/** The chunks of a stream opened when they are first asked for, and closed when no more are. */
function lazily(open: () => Readable): AsyncIterable<Buffer> {
  return {
    async *[Symbol.asyncIterator]() {
      const stream = open();
      try {
        yield* stream as AsyncIterable<Buffer>;
      } finally {
        stream.destroy();
      }
    },
  };
}

/**
 * A part's contents, telling `onBytes` its compressed bytes read so far, in proportion; an error
 * once it inflates past `limit` bytes.
 */
function counted(file: ZipFile, limit: number, onBytes: (n: number) => void): Readable {
  const contents = file.stream();
  let inflated = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      inflated += chunk.length;
      if (inflated > limit) {
        callback(new Error(`${file.path} inflates to more than ${limit} bytes`));
        return;
      }
      onBytes(Math.round((file.compressedSize * inflated) / Math.max(1, file.uncompressedSize)));
      callback(null, chunk);
    },
  });
  // `on`, not `once`: unzipper may report a failure more than once, and an 'error' with no
  // listener stops the process.
  contents.on('error', (error) => counter.destroy(error));
  return contents.pipe(counter);
}
