/**
 * A cluster key for tests that drive the signed topics' decoders, publishers or validator without
 * a service (src/security/signed-events.ts): fixed, so a failure replays byte for byte. Services
 * and the CLI in the integration tests use the harness's key file (bench/lib/harness.ts).
 */
import { readFileSync } from 'node:fs';
import { harnessClusterKeyFile } from '../../bench/lib/harness.js';
import type { LogMessage } from '../../src/pipeline/kafka-port.js';
import { type TableDecoders, tableDecoders } from '../../src/pipeline/table-decoders.js';
import { type ClusterKeys, parseClusterKeys } from '../../src/security/cluster-key.js';
import {
  clusterVerifier,
  EventSigner,
  SIGNATURE_HEADER,
  type SignedRole,
  type UnsignedCutOver,
} from '../../src/security/signed-events.js';
import { subjectSecretsOfKeys } from '../../src/security/subject-secrets.js';
import type { SubjectSecrets } from '../../src/store/derived-keys.js';
import { TopicSeal } from '../../src/store/topic-seal.js';

export const TEST_KEY = 'test-cluster-key-0123456789abcdefghijklmnop';
export const TEST_KEYS: ClusterKeys = parseClusterKeys(`${TEST_KEY}\n`, 'test.key');
export const testSigner = new EventSigner(TEST_KEYS);
/** What seals owners' data and names them by pseudonym, derived from the test key. */
export const TEST_SECRETS: SubjectSecrets = subjectSecretsOfKeys(TEST_KEYS);
export const testSeal = new TopicSeal(TEST_SECRETS.topic);

/** The tables' decoders verifying with the test key. */
export function testDecoders(unsignedBefore: UnsignedCutOver = { tokens: 0, audit: 0 }): TableDecoders {
  return tableDecoders(clusterVerifier(TEST_KEYS, unsignedBefore), testSeal);
}

/** The headers of a message signed with the test key. */
export function signedHeaders(
  role: SignedRole,
  key: string | null,
  value: Buffer | null,
): NonNullable<LogMessage['headers']> {
  return [{ [SIGNATURE_HEADER]: testSigner.signatureOf(role, key, value) }];
}

/**
 * The headers of a message signed with the key file the integration tests' services use
 * (bench/lib/harness.ts harnessClusterKeyFile): what an instance or the CLI would write.
 */
export function harnessSignedHeaders(
  role: SignedRole,
  key: string | null,
  value: Buffer | null,
): NonNullable<LogMessage['headers']> {
  const file = harnessClusterKeyFile();
  const signer = new EventSigner(parseClusterKeys(readFileSync(file, 'utf8'), file));
  return [{ [SIGNATURE_HEADER]: signer.signatureOf(role, key, value) }];
}
