/**
 * The file of subject keys (issue 22, point 3): fixed-size slots in `<data dir>/subject-keys`,
 * each holding one key that seals an owner's and a device's personal fields in the LMDB store
 * (src/store/subject-keys.ts). LMDB cannot destroy a value — a freed page keeps its bytes, and a
 * page rewritten in place keeps stale bytes in its free gap — but a slot of this file can be
 * destroyed: it is overwritten in place with zeros and the file synced, and what was sealed under
 * it, wherever its bytes lie, can no longer be read by anyone.
 *
 * A slot is 64 bytes: `state (1: live) · format (1) · 0 0 · key id (16) · key (32) · created at
 * (f64, ms) · CRC-32 of the 60 bytes before it`. A slot that is zero, torn or of another format
 * reads as no key. Where each slot is and which are free is in LMDB, written in the same
 * transaction: a slot written before a transaction that did not commit (or whose commit a machine
 * crash took back) is free again, zeroed when the store next opens, and the next key takes it.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export const SLOT_BYTES = 64;
const LIVE = 1;
const FORMAT = 1;
const ID = 16;
const KEY = 32;
const ZEROS = Buffer.alloc(SLOT_BYTES);

/** The slots file beside the store. */
export const SLOTS_FILE = 'subject-keys';

export interface SlotKey {
  readonly keyId: Buffer;
  readonly key: Buffer;
  /** When the key was made (ms since the epoch): a purge destroys only keys made before it. */
  readonly createdAt: number;
}

export class SlotFile {
  readonly path: string;
  /** -1: opened read-only where there is no file yet (no key to read). */
  readonly #fd: number;
  readonly #buffer = Buffer.alloc(SLOT_BYTES);
  #unsynced = false;

  /** Opens (read-write: creates) the file at `path`. */
  constructor(path: string, readOnly: boolean) {
    this.path = path;
    const exists = existsSync(path);
    this.#fd = readOnly ? (exists ? openSync(path, 'r') : -1) : openSync(path, exists ? 'r+' : 'w+', 0o600);
  }

  /** Slots the file holds room for. */
  get length(): number {
    return this.#fd < 0 ? 0 : Math.floor(fstatSync(this.#fd).size / SLOT_BYTES);
  }

  /** The key in `slot`, or undefined when the slot holds none (free, destroyed or torn). */
  read(slot: number): SlotKey | undefined {
    if (this.#fd < 0) return undefined;
    const buffer = this.#buffer;
    const read = readSync(this.#fd, buffer, 0, SLOT_BYTES, slot * SLOT_BYTES);
    if (read !== SLOT_BYTES || buffer[0] !== LIVE || buffer[1] !== FORMAT) return undefined;
    if (crc32(buffer.subarray(0, SLOT_BYTES - 4)) !== buffer.readUInt32LE(SLOT_BYTES - 4)) return undefined;
    return {
      keyId: Buffer.from(buffer.subarray(4, 4 + ID)),
      key: Buffer.from(buffer.subarray(4 + ID, 4 + ID + KEY)),
      createdAt: buffer.readDoubleLE(4 + ID + KEY),
    };
  }

  write(slot: number, value: SlotKey): void {
    if (value.keyId.length !== ID || value.key.length !== KEY)
      throw new RangeError('a slot key is 16 + 32 bytes');
    const buffer = Buffer.alloc(SLOT_BYTES);
    buffer[0] = LIVE;
    buffer[1] = FORMAT;
    value.keyId.copy(buffer, 4);
    value.key.copy(buffer, 4 + ID);
    buffer.writeDoubleLE(value.createdAt, 4 + ID + KEY);
    buffer.writeUInt32LE(crc32(buffer.subarray(0, SLOT_BYTES - 4)), SLOT_BYTES - 4);
    this.#writeAt(slot, buffer);
  }

  /** Whether `slot` holds no byte but zeros (a slot past the file's end holds none). */
  isZero(slot: number): boolean {
    if (this.#fd < 0) return true;
    const read = readSync(this.#fd, this.#buffer, 0, SLOT_BYTES, slot * SLOT_BYTES);
    return this.#buffer.subarray(0, read).every((byte) => byte === 0);
  }

  /** Destroys the key in `slot`: its bytes overwritten with zeros (on disk after `sync`). */
  zero(slot: number): void {
    this.#writeAt(slot, ZEROS);
  }

  #writeAt(slot: number, bytes: Buffer): void {
    if (!Number.isInteger(slot) || slot < 0) throw new RangeError(`no slot ${slot}`);
    writeSync(this.#fd, bytes, 0, SLOT_BYTES, slot * SLOT_BYTES);
    this.#unsynced = true;
  }

  /**
   * Makes every write so far durable. Called before the LMDB transaction that records them
   * commits: a slot the store says holds a key must hold it after a crash, and a zeroed one must
   * stay zero.
   */
  sync(): void {
    if (!this.#unsynced) return;
    fdatasyncSync(this.#fd);
    this.#unsynced = false;
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
  }
}
