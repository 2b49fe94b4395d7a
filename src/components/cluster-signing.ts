/**
 * The cluster key, read (or, on the embedded cluster, made on first start) before anything is
 * written: the tokens and audit topics' events are signed with it and verified with it on read
 * (src/security/signed-events.ts), by the global tables, the purges read ahead and the record
 * validator alike.
 */
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { type TableDecoders, tableDecoders } from '../pipeline/table-decoders.js';
import { clusterKeysOf } from '../security/cluster-key.js';
import { clusterVerifier, EventSigner, type RecordVerifier } from '../security/signed-events.js';
import { subjectSecretsOfKeys } from '../security/subject-secrets.js';
import { installTopicSeal, TopicSeal } from '../store/topic-seal.js';

export interface ClusterSigning {
  readonly signer: EventSigner;
  /** Verifies the signed topics' events: the tables through `decoders`, the commands directly. */
  readonly verifier: RecordVerifier;
  readonly decoders: TableDecoders;
  /** Seals and opens what the internal topics carry of people (src/store/topic-seal.ts). */
  readonly seal: TopicSeal;
}

export function clusterSigning(config: Config, log: Logger): ClusterSigning {
  const keys = clusterKeysOf(config, { create: true });
  const signer = new EventSigner(keys);
  const seal = new TopicSeal(subjectSecretsOfKeys(keys).topic);
  // The journal this thread writes and the changelogs it restores from (src/store/topic-seal.ts).
  installTopicSeal(seal);
  const verifier = clusterVerifier(keys, config.security.unsignedBefore);
  const decoders = tableDecoders(verifier, seal);
  log.info(
    { keyFile: keys.file, signingKey: keys.signing.id, verifyingKeys: [...keys.verifying.keys()] },
    'internal events are signed with the cluster key',
  );
  return { signer, verifier, decoders, seal };
}
