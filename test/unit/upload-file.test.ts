/**
 * An upload's file (src/http/upload-file.ts): counted as it streams, refused past its limit, and
 * closed by the time `receiveUpload` settles, so that removing it after a refusal leaves no file
 * (the 413 of POST /v1/blocklist and the others promises "no file left").
 */
import * as fs from 'node:fs';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { receiveUpload, UploadTooLarge } from '../../src/http/upload-file.js';
import { tempDir } from '../support/tmp.js';

const OPEN_DELAY_MS = 50;

/** A file stream whose open takes OPEN_DELAY_MS, as a busy disk's may. */
const slowOpen = (file: string) =>
  createWriteStream(file, {
    fs: {
      open: (
        path: fs.PathLike,
        flags: fs.OpenMode,
        mode: fs.Mode,
        callback: (error: Error | null, fd: number) => void,
      ) => setTimeout(() => fs.open(path, flags, mode, callback), OPEN_DELAY_MS),
      write: fs.write,
      writev: fs.writev,
      close: fs.close,
    },
  });

function uploadsDir(): string {
  const dir = join(tempDir(), 'uploads');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Removes `file` as the upload route does after a refusal, then waits past the slowed open: a
 * file stream still opening would create it again.
 */
async function expectNothingLeftAfterRemoving(file: string): Promise<void> {
  await rm(file, { force: true });
  await sleep(3 * OPEN_DELAY_MS);
  expect(readdirSync(dirname(file))).toEqual([]);
}

describe('receiveUpload', () => {
  it('writes a body under the limit to its file', async () => {
    const file = join(uploadsDir(), 'under.csv');
    await receiveUpload(Readable.from(['imei,reason\n', '1,stolen\n']), file, 1024, slowOpen);
    expect(readFileSync(file, 'utf8')).toBe('imei,reason\n1,stolen\n');
  });

  it('refused past the limit before its file is open: removed then, no file appears later', async () => {
    const file = join(uploadsDir(), 'over.csv');
    const refusal = await receiveUpload(Readable.from(['x'.repeat(2048)]), file, 1024, slowOpen).catch(
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(UploadTooLarge);
    expect((refusal as UploadTooLarge).received).toBe(2048);
    await expectNothingLeftAfterRemoving(file);
  });

  it('a client gone before the upload is read (while it was authenticated): refused, no file left', async () => {
    const file = join(uploadsDir(), 'gone.csv');
    const body = new Readable({ read() {} });
    body.push('imei,reason\n');
    body.destroy();
    await new Promise((resolve) => body.once('close', resolve));
    await expect(receiveUpload(body, file, 1024, slowOpen)).rejects.toThrow(
      'closed the upload before its end',
    );
    await expectNothingLeftAfterRemoving(file);
  });

  it('a client gone mid-upload: refused, and its file closed when it settles', async () => {
    const file = join(uploadsDir(), 'cut.csv');
    const body = new Readable({ read() {} });
    body.push('imei,reason\n');
    setTimeout(() => body.destroy(), 10);
    await expect(receiveUpload(body, file, 1024, slowOpen)).rejects.toThrow(
      'closed the upload before its end',
    );
    await expectNothingLeftAfterRemoving(file);
  });
});
