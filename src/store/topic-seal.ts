/**
 * Sealing of what imeiflow's internal topics carry of people (issue 22, point 3): a journal
 * record, a pending changelog record or a forwarded request holds owners' IIN/BIN and phones,
 * and Kafka keeps it until compaction or retention, long after a purge. Sealed with AES-256-GCM
 * under the topic key (src/store/derived-keys.ts), it is unreadable to anyone without imeiflow's
 * keys from the moment it is written.
 *
 * A sealed value is `0xC1 · 0x01 · key id (4 bytes) · IV (12) · ciphertext · tag (16)`. 0xC1 is a
 * byte msgpack never uses and JSON never starts with, so a reader tells a sealed value from one
 * written before sealing (still read, for an upgrade) by its first byte. The additional data is
 * the topic's role, so a value cannot be moved from one topic to another.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import type { DerivedKey } from './derived-keys.js';

export const SEALED_MARK = 0xc1;
const VERSION = 1;
const HEADER = 6;
const IV = 12;
const TAG = 16;

/** The internal topics whose values are sealed. */
export type SealedRole = 'journal' | 'pendingChangelog' | 'repartition';

/** A sealed value that cannot be opened: another cluster's key, a key no longer listed, or altered. */
export class SealError extends Error {}

/** Whether `bytes` is a sealed value (else one written before sealing, or not imeiflow's). */
export function isSealed(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER + IV + TAG && bytes[0] === SEALED_MARK && bytes[1] === VERSION;
}

function idBytes(id: string): Buffer {
  return Buffer.from(id, 'hex');
}

export class TopicSeal {
  readonly #current: { readonly id: Buffer; readonly key: Uint8Array };
  readonly #byId: ReadonlyMap<string, Uint8Array>;
  readonly #aad = new Map<SealedRole, Buffer>();
  readonly #ivs = Buffer.alloc(IV * 256);
  #ivAt = this.#ivs.length;

  /** `keys`: the topic keys, the current one first (src/store/derived-keys.ts). */
  constructor(keys: readonly DerivedKey[]) {
    const [current] = keys;
    if (current === undefined) throw new Error('no topic key');
    this.#current = { id: idBytes(current.id), key: current.key };
    this.#byId = new Map(keys.map((k) => [idBytes(k.id).toString('hex'), k.key]));
  }

  #aadOf(role: SealedRole): Buffer {
    let aad = this.#aad.get(role);
    if (aad === undefined) {
      aad = Buffer.from(`imeiflow topic v1\0${role}`, 'utf8');
      this.#aad.set(role, aad);
    }
    return aad;
  }

  /** A fresh IV: random bytes drawn in blocks (one system call per 256 seals). */
  #iv(): Buffer {
    if (this.#ivAt === this.#ivs.length) {
      randomFillSync(this.#ivs);
      this.#ivAt = 0;
    }
    const iv = this.#ivs.subarray(this.#ivAt, this.#ivAt + IV);
    this.#ivAt += IV;
    return iv;
  }

  seal(role: SealedRole, plain: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(HEADER + IV + plain.length + TAG);
    out[0] = SEALED_MARK;
    out[1] = VERSION;
    this.#current.id.copy(out, 2);
    const iv = this.#iv();
    iv.copy(out, HEADER);
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv);
    cipher.setAAD(this.#aadOf(role));
    const written = cipher.update(plain);
    written.copy(out, HEADER + IV);
    cipher.final();
    cipher.getAuthTag().copy(out, HEADER + IV + written.length);
    return out;
  }

  /** The value `seal` was given; throws SealError when it cannot be opened. */
  open(role: SealedRole, sealed: Uint8Array): Buffer {
    if (!isSealed(sealed)) throw new SealError('not a sealed value');
    const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    const id = bytes.toString('hex', 2, HEADER);
    const key = this.#byId.get(id);
    if (key === undefined)
      throw new SealError(`sealed with key ${id}, which the cluster key file does not list`);
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(HEADER, HEADER + IV));
    decipher.setAAD(this.#aadOf(role));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
    try {
      const plain = decipher.update(bytes.subarray(HEADER + IV, bytes.length - TAG));
      decipher.final();
      return plain;
    } catch {
      throw new SealError(`does not open with key ${id}: altered, or not sealed for this topic`);
    }
  }

  /** `open` for a value that may have been written before sealing: given back as it is then. */
  openIfSealed(role: SealedRole, bytes: Uint8Array): Uint8Array {
    return isSealed(bytes) ? this.open(role, bytes) : bytes;
  }
}

/**
 * The seal this thread's internal-topic codecs use (state-codec.ts, src/pipeline/journal.ts, the
 * repartition forwarding): set once at start — by the service's main thread from the cluster key
 * (src/components/cluster-signing.ts) and by each verify worker from its settings — because those
 * codecs are plain functions called from a dozen places on both kinds of thread, and threading a
 * key through each would change every caller for no gain: a process has one cluster key file.
 * Unset (a test, the simulation, a tool), values are written unsealed, which every reader reads.
 */
let threadSeal: TopicSeal | undefined;

export function installTopicSeal(seal: TopicSeal | undefined): void {
  threadSeal = seal;
}

export function installedTopicSeal(): TopicSeal | undefined {
  return threadSeal;
}

/** `plain` sealed for `role` with this thread's seal, or as it is when none is installed. */
export function sealForTopic(role: SealedRole, plain: Uint8Array): Uint8Array {
  return threadSeal === undefined ? plain : threadSeal.seal(role, plain);
}

/**
 * What `sealForTopic` was given. A sealed value with no seal installed, or one that does not open,
 * throws SealError; an unsealed one (written before sealing, or by a thread without a seal) is
 * given back as it is.
 */
export function openFromTopic(role: SealedRole, bytes: Uint8Array): Uint8Array {
  if (!isSealed(bytes)) return bytes;
  if (threadSeal === undefined) throw new SealError('sealed, and no topic key to open it');
  return threadSeal.open(role, bytes);
}
