/** The part of unzipper 0.10 (no types of its own) that src/loaders/xlsx-sheets.ts uses. */
declare module 'unzipper' {
  import type { Readable } from 'node:stream';

  /** Where a zip's bytes are: a stream from an offset (to `offset + length`, or the end), and its size. */
  export interface ZipSource {
    stream(offset: number, length?: number): Readable;
    size(): Promise<number>;
  }

  /** A file of the zip, as its central directory lists it. */
  export interface ZipFile {
    readonly path: string;
    readonly type: 'File' | 'Directory';
    readonly compressedSize: number;
    readonly uncompressedSize: number;
    /** Its contents, inflated, read from its local header on. */
    stream(): Readable;
  }

  export interface ZipDirectory {
    readonly files: readonly ZipFile[];
  }

  const unzipper: {
    readonly Open: { custom(source: ZipSource): Promise<ZipDirectory> };
  };
  export default unzipper;
}
