/**
 * The Piscina worker entry: one partition batch per task (src/pool/partition-batch.ts). Workers
 * open the LMDB environment read-write: each stores the state of the batch before the one it
 * decides (LMDB serialises writers across threads).
 */
import { Piscina } from 'piscina';
import type { WorkerSecrets } from '../store/derived-keys.js';
import { openStore } from '../store/store.js';
import { isUnwatchedCommitFailure } from '../store/store-full.js';
import { installTopicSeal, TopicSeal } from '../store/topic-seal.js';
import type { WorkerSettings } from './batch-contract.js';
import { batchContextOf, runBatch } from './partition-batch.js';

// A failed commit here (a full disk) fails its task, which reports it; lmdb-js also rejects a
// promise of its own that nobody waits for, which must not take the thread down first.
process.on('unhandledRejection', (reason) => {
  if (!isUnwatchedCommitFailure(reason)) throw reason;
});

const settings = Piscina.workerData as WorkerSettings & WorkerSecrets;
const store = openStore({
  dataDir: settings.config.dataDir,
  ...(settings.encryptionKey === undefined ? {} : { encryptionKey: settings.encryptionKey }),
  ...(settings.secrets === undefined ? {} : { secrets: settings.secrets }),
});
// What this thread writes to the pending changelog and the repartition topic is sealed.
installTopicSeal(settings.secrets === undefined ? undefined : new TopicSeal(settings.secrets.topic));
const context = batchContextOf(store, settings);

export default async function partitionBatchTask(task: Uint8Array): Promise<unknown> {
  return Piscina.move(await runBatch(context, task));
}
