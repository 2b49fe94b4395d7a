/**
 * The secrets destruction by purge works with (issue 22, point 3), derived from the cluster key
 * (src/security/cluster-key.ts) so that every instance and the command line hold the same ones:
 *
 * - the **pseudonym key**: an owner's IIN/BIN is indexed, recorded in purge marks and named in a
 *   purge's audit entry only as an HMAC under it (src/store/pseudonyms.ts), never in clear;
 * - the **topic key**: personal data on imeiflow's internal topics is sealed under it
 *   (src/store/topic-seal.ts), so what Kafka keeps after a purge is unreadable without the key.
 *
 * Each is derived with HKDF-SHA-256 under its own label from every key the cluster key file lists,
 * and named by that key's id: the first signs, seals and pseudonymises; every one listed opens and
 * matches, so a key rotation (docs/control-plane.md) leaves what the old key made readable. Plain
 * data, so it crosses to the verify workers (src/pool/batch-contract.ts `WorkerSettings`).
 */
import { hkdfSync } from 'node:crypto';

/** A secret derived from one cluster key, named by that key's id (8 hex digits). */
export interface DerivedKey {
  readonly id: string;
  readonly key: Uint8Array;
}

/** Derived secrets, the current one first. */
export interface SubjectSecrets {
  readonly pseudonym: readonly DerivedKey[];
  readonly topic: readonly DerivedKey[];
}

const PSEUDONYM_LABEL = 'imeiflow subject pseudonym v1';
const TOPIC_LABEL = 'imeiflow internal topic seal v1';

function derive(secret: Uint8Array, label: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), label, 32));
}

/**
 * What a verify worker gets beside its settings (src/pool/batch-contract.ts `WorkerSettings`): the
 * secrets it seals owners and phones with, in the store and on the topics. Absent (a benchmark or
 * test without a cluster key), the worker can store no owner or phone.
 */
export interface WorkerSecrets {
  readonly secrets?: SubjectSecrets;
}

/** The secrets of cluster keys given as (id, secret), the signing key first. */
export function subjectSecretsOf(
  keys: readonly { readonly id: string; readonly secret: Uint8Array }[],
): SubjectSecrets {
  if (keys.length === 0) throw new Error('no cluster key to derive the subject secrets from');
  return {
    pseudonym: keys.map((k) => ({ id: k.id, key: derive(k.secret, PSEUDONYM_LABEL) })),
    topic: keys.map((k) => ({ id: k.id, key: derive(k.secret, TOPIC_LABEL) })),
  };
}
