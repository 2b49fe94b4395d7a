/**
 * A record's personal fields — the owner's IIN/BIN and the phone number — sealed under the
 * subject key of its owner and device (src/store/subject-keys.ts) with AES-256-GCM: what the LMDB
 * store keeps of them (issue 22, point 3). Once a purge destroys the key, the bytes, in a live page
 * or a free one, open no more.
 *
 * `format (1) · key id (16) · slot (u32) · IV (12) · ciphertext · tag (16)`. The slot is where the
 * sealing instance keeps the key, and the only place it is looked for: the slot's key id must
 * match, else the key was destroyed. The plaintext is each field as a u16 length (0xffff: null)
 * and its UTF-8; the first 21 bytes are the additional data.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { SubjectKey, SubjectKeys } from './subject-keys.js';

/** The personal fields of a record. */
export interface Personal {
  readonly ownerId: string | null;
  readonly msisdn: string | null;
}

const FORMAT = 1;
const HEAD = 21;
const IV = 12;
const TAG = 16;
const ABSENT = 0xffff;
const NO_SLOT = 0xffffffff;

function fieldsOf(personal: Personal): Buffer {
  const owner = personal.ownerId === null ? null : Buffer.from(personal.ownerId, 'utf8');
  const msisdn = personal.msisdn === null ? null : Buffer.from(personal.msisdn, 'utf8');
  const plain = Buffer.alloc(4 + (owner?.length ?? 0) + (msisdn?.length ?? 0));
  let at = 0;
  for (const field of [owner, msisdn]) {
    if (field !== null && field.length >= ABSENT) throw new RangeError('a personal field of 64 KiB or more');
    plain.writeUInt16LE(field === null ? ABSENT : field.length, at);
    at += 2;
    if (field !== null) at += field.copy(plain, at);
  }
  return plain;
}

function personalOf(plain: Buffer): Personal | undefined {
  const fields: (string | null)[] = [];
  let at = 0;
  for (let i = 0; i < 2; i++) {
    if (at + 2 > plain.length) return undefined;
    const length = plain.readUInt16LE(at);
    at += 2;
    if (length === ABSENT) fields.push(null);
    else {
      fields.push(plain.toString('utf8', at, at + length));
      at += length;
    }
  }
  return { ownerId: fields[0] ?? null, msisdn: fields[1] ?? null };
}

/** Seals `personal` under `key`; `iv`: 12 fresh random bytes. */
export function sealPersonal(key: SubjectKey, personal: Personal, iv: Uint8Array): Buffer {
  const plain = fieldsOf(personal);
  const blob = Buffer.allocUnsafe(HEAD + IV + plain.length + TAG);
  blob[0] = FORMAT;
  key.keyId.copy(blob, 1);
  blob.writeUInt32LE(key.slot < 0 ? NO_SLOT : key.slot, 17);
  blob.set(iv, HEAD);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(blob.subarray(0, HEAD));
  const written = cipher.update(plain);
  written.copy(blob, HEAD + IV);
  cipher.final();
  cipher.getAuthTag().copy(blob, HEAD + IV + written.length);
  return blob;
}

/** The key id a sealed blob names (16 bytes). */
export function keyIdOf(blob: Uint8Array): Buffer {
  return Buffer.from(blob.subarray(1, HEAD - 4));
}

/**
 * The personal fields of a sealed blob; undefined when they can no longer be read — the key was
 * destroyed by a purge, or the blob is not one this build writes.
 */
export function openPersonal(blob: Uint8Array, keys: Pick<SubjectKeys, 'key'>): Personal | undefined {
  if (blob.length < HEAD + IV + TAG || blob[0] !== FORMAT) return undefined;
  // A copy: the blob may be a view of LMDB's read buffer, which the key lookup can reuse.
  const bytes = Buffer.from(blob);
  const slot = bytes.readUInt32LE(17);
  const key = keys.key(bytes.subarray(1, 17), slot === NO_SLOT ? -1 : slot);
  if (key === undefined) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(HEAD, HEAD + IV));
  decipher.setAAD(bytes.subarray(0, HEAD));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
  try {
    const plain = decipher.update(bytes.subarray(HEAD + IV, bytes.length - TAG));
    decipher.final();
    return personalOf(plain);
  } catch {
    return undefined;
  }
}
