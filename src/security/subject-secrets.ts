/**
 * The subject secrets (src/store/derived-keys.ts) of the cluster key file: what seals owners'
 * and phones' data on the internal topics and names owners by pseudonym, derived from every key
 * the file lists, the signing key first.
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type SubjectSecrets, subjectSecretsOf } from '../store/derived-keys.js';
import { type ClusterKeyConfig, type ClusterKeys, clusterKeysOf, EMBEDDED_KEY_FILE } from './cluster-key.js';

export function subjectSecretsOfKeys(keys: ClusterKeys): SubjectSecrets {
  return subjectSecretsOf([...keys.verifying.values()]);
}

/**
 * The subject secrets of a configuration, for a tool that opens the store: undefined when no key
 * file is there to read (an embedded data directory no service has run on yet).
 */
export function storeSecretsOf(config: ClusterKeyConfig): SubjectSecrets | undefined {
  if (config.security.clusterKeyFile === null && !existsSync(join(config.dataDir, EMBEDDED_KEY_FILE)))
    return undefined;
  return subjectSecretsOfKeys(clusterKeysOf(config, { create: false }));
}
