/**
 * Streams a text file as numbered lines with a bounded line length.
 *
 * csv-parse (tried first) stops emitting records after an over-long one even with
 * `skip_records_with_error`, so a single bad line in a 5 M-row KGD export would silently drop
 * every row after it. This reader never holds more than `maxLineBytes` of one line: a longer
 * line is reported with its number and skipped, and the rows after it load.
 *
 * Encoding: UTF-8 (with or without BOM); a file whose first line is not valid UTF-8 is read as
 * Windows-1251, which is what Excel on a Russian-locale Windows writes for "CSV".
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';

export type LineItem =
  | { readonly kind: 'line'; readonly line: number; readonly text: string }
  | { readonly kind: 'too-long'; readonly line: number; readonly bytes: number };

export interface LineReaderOptions {
  readonly maxLineBytes: number;
  /** Called with the cumulative number of bytes read, for progress bars. */
  readonly onBytes?: (bytesRead: number) => void;
}

const LF = 0x0a;
const CR = 0x0d;

export type TextEncodingName = 'utf-8' | 'windows-1251';

function stripCr(buf: Buffer, start: number, end: number): number {
  return end > start && buf[end - 1] === CR ? end - 1 : end;
}

export async function* readLines(path: string, options: LineReaderOptions): AsyncGenerator<LineItem> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let lineNo = 0;
  let bytesRead = 0;
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let skipping = false;
  let decoder: TextDecoder | undefined;

  const decode = (bytes: Buffer): string => {
    if (decoder === undefined) {
      let start = 0;
      if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
      const encoding: TextEncodingName = isUtf8(bytes.subarray(start)) ? 'utf-8' : 'windows-1251';
      // TextDecoder drops a UTF-8 BOM by itself.
      decoder = new TextDecoder(encoding);
    }
    return decoder.decode(bytes);
  };

  function* emit(line: Buffer): Generator<LineItem> {
    lineNo++;
    yield { kind: 'line', line: lineNo, text: decode(line) };
  }

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytesRead += chunk.length;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) {
        const rest = chunk.length - start;
        if (!skipping) {
          if (partialBytes + rest > options.maxLineBytes) {
            skipping = true;
            partialBytes += rest;
            partial = [];
          } else if (rest > 0) {
            partial.push(chunk.subarray(start));
            partialBytes += rest;
          }
        } else {
          partialBytes += rest;
        }
        break;
      }
      if (skipping) {
        lineNo++;
        yield { kind: 'too-long', line: lineNo, bytes: partialBytes + (nl - start) };
        skipping = false;
        partial = [];
        partialBytes = 0;
      } else if (partialBytes + (nl - start) > options.maxLineBytes) {
        lineNo++;
        yield { kind: 'too-long', line: lineNo, bytes: partialBytes + (nl - start) };
        partial = [];
        partialBytes = 0;
      } else {
        let line: Buffer;
        if (partial.length > 0) {
          partial.push(chunk.subarray(start, nl));
          line = Buffer.concat(partial);
          partial = [];
          partialBytes = 0;
          line = line.subarray(0, stripCr(line, 0, line.length));
        } else {
          line = chunk.subarray(start, stripCr(chunk, start, nl));
        }
        yield* emit(line);
      }
      start = nl + 1;
    }
    options.onBytes?.(bytesRead);
  }
  if (skipping) {
    lineNo++;
    yield { kind: 'too-long', line: lineNo, bytes: partialBytes };
  } else if (partialBytes > 0) {
    const line = Buffer.concat(partial);
    yield* emit(line.subarray(0, stripCr(line, 0, line.length)));
  }
}
