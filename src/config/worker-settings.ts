/**
 * What a verify worker gets of the configuration (src/pool/batch-contract.ts `WorkerSettings`):
 * the settings declared as read by the workers (src/config/settings.ts), as plain data that
 * crosses the thread boundary. The service and the benchmarks build it here, once;
 * test/unit/settings.test.ts holds the declared readers and what this reads equal.
 */
import type { WorkerSettings } from '../pool/batch-contract.js';
import type { SubjectSecrets, WorkerSecrets } from '../store/derived-keys.js';
import { type Config, deadlineSettings } from './config.js';

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
    dataDir: config.dataDir,
    ...(encryptionKey === undefined ? {} : { encryptionKey }),
    ...(secrets === undefined ? {} : { secrets }),
    rules: config.rules,
    maxMessageBytes: config.pipeline.maxMessageBytes,
    requestsTopic: config.topics.requests,
    repartitionTopic: config.topics.repartition,
    commandsTopic: config.topics.commands,
    deadlines: deadlineSettings(config),
    results: {
      operators: config.results.perOperator ? config.results.operators : [],
      customsView: config.results.customsView,
    },
  };
}
