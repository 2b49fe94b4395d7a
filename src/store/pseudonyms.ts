/**
 * Keyed pseudonyms of owners (issue 22, point 3): `<key id>.<HMAC-SHA-256 of the IIN/BIN under
 * the pseudonym key, base64url>`. What indexes an owner's sealing keys, what a purge mark and a
 * purge's audit entry name: never the IIN itself, so a purge leaves no IIN behind it.
 *
 * Who holds the cluster key can compute the pseudonym of any IIN, and so check whether a given one
 * was purged (`GET /v1/audit?iin=…`); an IIN has few enough possible values that they could also
 * be tried one by one: a pseudonym keeps an IIN from whoever lacks the key, as the topic seal does
 * (docs/confidential-data.md).
 *
 * A purge names the pseudonym under every key listed, so it reaches what was recorded under a
 * key that is no longer the first (a rotation between the two).
 */
import { createHmac } from 'node:crypto';
import type { DerivedKey } from './derived-keys.js';

const PSEUDONYM_PATTERN = /^[0-9a-f]{8}\.[A-Za-z0-9_-]{43}$/;
const CONTEXT = 'imeiflow owner v1\0';

export function isPseudonym(text: string): boolean {
  return PSEUDONYM_PATTERN.test(text);
}

/** What names owners by pseudonym (a store opened without the cluster key has one that refuses). */
export interface OwnerPseudonyms {
  current(ownerId: string): string;
  all(ownerId: string): string[];
}

/** The pseudonyms of a store opened without the cluster key's secrets: it can name no owner. */
export function noPseudonyms(why: string): OwnerPseudonyms {
  const refuse = (): never => {
    throw new Error(why);
  };
  return { current: refuse, all: refuse };
}

export class Pseudonyms implements OwnerPseudonyms {
  readonly #keys: readonly DerivedKey[];

  /** `keys`: the pseudonym keys, the current one first (src/store/derived-keys.ts). */
  constructor(keys: readonly DerivedKey[]) {
    if (keys.length === 0) throw new Error('no pseudonym key');
    this.#keys = keys;
  }

  /** The pseudonym new data is indexed by. */
  current(ownerId: string): string {
    return pseudonymOf(this.#keys[0]!, ownerId);
  }

  /** The pseudonym under every key listed, the current one first: what a purge names. */
  all(ownerId: string): string[] {
    return this.#keys.map((k) => pseudonymOf(k, ownerId));
  }
}

function pseudonymOf(key: DerivedKey, ownerId: string): string {
  const mac = createHmac('sha256', key.key).update(CONTEXT).update(ownerId).digest('base64url');
  return `${key.id}.${mac}`;
}
