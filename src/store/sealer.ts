/**
 * Seals records' personal fields for the LMDB store (src/store/personal-seal.ts), each under the
 * subject key of its owner and device: the one the store has for that scope, else a new one.
 *
 * Two ways a new key reaches the store. A worker deciding a batch cannot write to the store
 * (the batch is stored when the next one is decided, or by recovery): it `collect`s every key it
 * sealed with, new or not, and the batch carries them in its outputs section, sealed with the
 * rest of its journal record, so whoever stores the batch installs them
 * (src/pool/state-ops.ts). The main thread writing inside a transaction (a restore, the registry
 * view, the review table) `install`s a new key at once, and calls `flush` before the
 * transaction ends.
 */
import { randomFillSync } from 'node:crypto';
import { type Personal, sealPersonal } from './personal-seal.js';
import type { OwnerPseudonyms } from './pseudonyms.js';
import type { SubjectKey, SubjectKeys } from './subject-keys.js';

export class Sealer {
  readonly #keys: SubjectKeys;
  readonly #pseudonyms: OwnerPseudonyms;
  readonly #install: boolean;
  /** Scope (`<body>/<owner IIN>`) → its key, for the life of this sealer (one batch or transaction). */
  readonly #scopes = new Map<string, SubjectKey>();
  readonly #ivs = Buffer.alloc(12 * 128);
  #ivAt = this.#ivs.length;

  /** `mode`: `collect` the keys used (a worker's batch), or `install` new ones at once (in a transaction). */
  constructor(keys: SubjectKeys, pseudonyms: OwnerPseudonyms, mode: 'collect' | 'install') {
    this.#keys = keys;
    this.#pseudonyms = pseudonyms;
    this.#install = mode === 'install';
  }

  /**
   * The sealed blob of a record's personal fields, or null when it has none. `at`: when the
   * record was made (ISO): a new key is dated by it, so a purge ordered after the record was
   * received destroys it even where the record is stored later (a backlog, a restore).
   */
  seal(body: string, personal: Personal, at: string): Buffer | null {
    if (personal.ownerId === null && personal.msisdn === null) return null;
    return sealPersonal(this.#keyOf(body, personal.ownerId, at), personal, this.#iv());
  }

  #keyOf(body: string, ownerId: string | null, at: string): SubjectKey {
    const scope = `${body}/${ownerId ?? ''}`;
    let key = this.#scopes.get(scope);
    if (key === undefined) {
      const owner = ownerId === null ? '' : this.#pseudonyms.current(ownerId);
      key = this.#keys.scopeKey(body, owner) ?? this.#keys.newKey(body, owner, Date.parse(at));
      if (this.#install && key.slot < 0) key = { ...key, slot: this.#keys.install(key) ?? -1 };
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

  /** Every key sealed with so far: what a batch carries for whoever stores it. */
  get used(): IterableIterator<SubjectKey> {
    return this.#scopes.values();
  }

  /** Makes the keys installed so far durable: call before the transaction ends. */
  flush(): void {
    this.#keys.flush();
  }
}
