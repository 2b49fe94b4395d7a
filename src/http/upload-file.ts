/**
 * An upload written to a file of its own, counted as it arrives: past the limit it is refused
 * with `UploadTooLarge`. When `receiveUpload` settles, the file is closed, whichever way it
 * ended, so a caller that removes it after a refusal leaves nothing behind.
 */
import { createWriteStream } from 'node:fs';
import { type Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The body was larger than the limit; `received` bytes had arrived when it was refused. */
export class UploadTooLarge extends Error {
  readonly received: number;
  constructor(limit: number, received: number) {
    super(`the upload is larger than ${limit} bytes (http.maxUploadBytes)`);
    this.name = 'UploadTooLarge';
    this.received = received;
  }
}

/**
 * Write `body` to `file`, refusing it once more than `limit` bytes have arrived. The request is
 * piped, not put in `pipeline`: a pipeline that fails destroys its source, and destroying the
 * request destroys the socket the 413 is to be sent on. `open` is the file stream's maker (tests
 * slow its open down).
 */
export async function receiveUpload(
  body: Readable,
  file: string,
  limit: number,
  open: (file: string) => Writable = createWriteStream,
): Promise<void> {
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > limit) callback(new UploadTooLarge(limit, received));
      else callback(null, chunk);
    },
  });
  // `pipe` does not pass a source's end without 'end' on: a client that goes away mid-upload.
  const cutOff = () => {
    if (!body.readableEnded) counter.destroy(new Error('the client closed the upload before its end'));
  };
  const failed = (error: Error) => counter.destroy(error);
  body.once('close', cutOff);
  body.once('error', failed);
  // A client may be gone before this runs (while the request was authenticated): no 'close' comes.
  if (body.destroyed) cutOff();
  body.pipe(counter);
  const sink = open(file);
  try {
    await pipeline(counter, sink);
  } finally {
    body.off('close', cutOff);
    body.off('error', failed);
    body.unpipe(counter);
    // A pipeline that fails settles without waiting for the file stream it destroys, which may
    // still be opening the file: removed before that open ends, the file would be created after.
    if (!sink.closed) await new Promise((resolve) => sink.once('close', resolve));
  }
}
