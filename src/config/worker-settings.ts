/**
 * What a verify worker gets of the configuration (src/pool/batch-contract.ts `WorkerSettings`):
 * the settings declared as read by the workers (src/config/settings.ts), pruned from the
 * configuration in its own shape, as plain data that crosses the thread boundary. A setting the
 * workers read is one declaration with 'workers' among its readers, and the code that reads it.
 */
import type { WorkerSettings } from '../pool/batch-contract.js';
import type { SubjectSecrets, WorkerSecrets } from '../store/derived-keys.js';
import type { Config } from './config.js';
import { type ReadBy, readBy } from './define.js';
import { SETTINGS } from './settings.js';

/** The configuration the workers read: `config.rules`, `config.topics.requests`… as declared. */
export type WorkerConfig = ReadBy<(typeof SETTINGS)['entries'], 'workers'>;

export function workerConfigOf(config: Config): WorkerConfig {
  return readBy(SETTINGS, config, 'workers');
}

/**
 * `encryptionKey`: the store's key, read from `store.encryptionKeyFile` by the service;
 * `secrets`: the cluster key's subject secrets (src/security/subject-secrets.ts), read likewise.
 */
export function workerSettings(
  config: Config,
  encryptionKey?: string,
  secrets?: SubjectSecrets,
): WorkerSettings & WorkerSecrets {
  return {
    config: workerConfigOf(config),
    ...(encryptionKey === undefined ? {} : { encryptionKey }),
    ...(secrets === undefined ? {} : { secrets }),
  };
}
