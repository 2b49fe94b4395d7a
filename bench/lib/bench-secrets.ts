/**
 * Sealing as the service seals (issue 22, point 3), for a benchmark: the secrets of a cluster key
 * made for this run, and this thread's topic seal installed from them. A store opened with the
 * secrets seals owners and phones; the thread's journal and changelog records are sealed too.
 */
import { newClusterKeyFileText, parseClusterKeys } from '../../src/security/cluster-key.js';
import { subjectSecretsOfKeys } from '../../src/security/subject-secrets.js';
import type { SubjectSecrets } from '../../src/store/derived-keys.js';
import { installTopicSeal, TopicSeal } from '../../src/store/topic-seal.js';

export function sealingForThisRun(): SubjectSecrets {
  const secrets = subjectSecretsOfKeys(parseClusterKeys(newClusterKeyFileText(), 'bench.key'));
  installTopicSeal(new TopicSeal(secrets.topic));
  return secrets;
}
