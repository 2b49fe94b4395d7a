/**
 * Seals records' personal fields for the LMDB store (src/store/personal-seal.ts), each under the
 * subject key of its owner and device: the one the store has for that scope, else a new one,
 * installed at once. Whoever stores a record seals it, inside the write transaction that stores
 * it — a worker storing the previous batch's state (src/pool/state-ops.ts), recovery, a restore,
 * the registry view, the review table, the sweep — and calls `flush` before the transaction ends.
 * Keys never leave the instance: what travels between instances (the journal, the changelogs) is
 * sealed under the topic key instead (src/store/topic-seal.ts).
 */
import { randomFillSync } from 'node:crypto';
import { type Personal, sealPersonal } from './personal-seal.js';
import type { OwnerPseudonyms } from './pseudonyms.js';
import type { SubjectKey, SubjectKeys } from './subject-keys.js';

export class Sealer {
  readonly #keys: SubjectKeys;
  readonly #pseudonyms: OwnerPseudonyms;
  /** Scope (`<body>/<owner IIN>`) → its key, for the life of this sealer (one batch or transaction). */
  readonly #scopes = new Map<string, SubjectKey>();
  /** Owner and phone of a scope → their sealed blob, for the life of this sealer. */
  readonly #blobs = new Map<string, Buffer>();
  readonly #ivs = Buffer.alloc(12 * 128);
  #ivAt = this.#ivs.length;

  /** Call inside a write transaction, and `flush` before it ends. */
  constructor(keys: SubjectKeys, pseudonyms: OwnerPseudonyms) {
    this.#keys = keys;
    this.#pseudonyms = pseudonyms;
  }

  /**
   * The sealed blob of a record's personal fields, or null when it has none. `at`: when the
   * record was made (ISO): a new key is dated by it, so a purge ordered after the record was
   * received destroys it even where the record is stored later (a backlog, a restore).
   */
  seal(body: string, personal: Personal, at: string): Buffer | null {
    if (personal.ownerId === null && personal.msisdn === null) return null;
    // A confirmation's outcome and registry entry hold the same owner and phone: one seal for
    // both (the same key would seal the same bytes; the blob names its key and IV).
    const fields = `${body}/${personal.ownerId ?? ''}\u0000${personal.msisdn ?? '\u0001'}`;
    let blob = this.#blobs.get(fields);
    if (blob === undefined) {
      blob = sealPersonal(this.#keyOf(body, personal.ownerId, at), personal, this.#iv());
      this.#blobs.set(fields, blob);
    }
    return blob;
  }

  #keyOf(body: string, ownerId: string | null, at: string): SubjectKey {
    const scope = `${body}/${ownerId ?? ''}`;
    let key = this.#scopes.get(scope);
    if (key === undefined) {
      const owner = ownerId === null ? '' : this.#pseudonyms.current(ownerId);
      key = this.#keys.scopeKey(body, owner);
      if (key === undefined) {
        const made = this.#keys.newKey(body, owner, Date.parse(at));
        key = { ...made, slot: this.#keys.install(made, true) ?? -1 };
      }
      this.#scopes.set(scope, key);
    }
    return key;
  }

  #iv(): Buffer {
    if (this.#ivAt === this.#ivs.length) {
      randomFillSync(this.#ivs);
      this.#ivAt = 0;
    }
    const iv = this.#ivs.subarray(this.#ivAt, this.#ivAt + 12);
    this.#ivAt += 12;
    return iv;
  }

  /** Makes the keys installed so far durable: call before the transaction ends. */
  flush(): void {
    this.#keys.flush();
  }
}
