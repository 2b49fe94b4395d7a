/**
 * The Piscina worker entry: decode a batch, decide each message (rules 1–6 and 10) against a
 * read-only LMDB snapshot, encode the results in input order.
 */
import { Piscina } from 'piscina';
import { ruleSettings } from '../domain/rules.js';
import { WorkerIndexView } from '../store/index-view.js';
import { openStore } from '../store/store.js';
import { type BatchResult, decodeBatch, encodeResults, type WorkerSettings } from './batch-contract.js';
import { verifyBatch } from './verify-batch.js';

const settings = Piscina.workerData as WorkerSettings;
const store = openStore({
  dataDir: settings.dataDir,
  readOnly: true,
  ...(settings.encryptionKey === undefined ? {} : { encryptionKey: settings.encryptionKey }),
});
const view = new WorkerIndexView(store);
const settingsForRules = ruleSettings(settings);

export default function verifyBatchTask(buffer: Uint8Array): unknown {
  // See every write the main thread committed before it sent this batch.
  view.refresh();
  const task = decodeBatch(buffer);
  const results: BatchResult[] = verifyBatch(task, view, settingsForRules, settings.maxMessageBytes);
  return Piscina.move(encodeResults(results));
}
