/** Decide every message of a batch in order; pure over the index view it is given. */
import type { BatchResult, BatchTask } from './batch-contract.js';
import { ENCODING_MSGPACK } from './batch-contract.js';
import { BatchOverlay } from './batch-overlay.js';
import { parseRequest } from './request.js';
import { decide, type RuleSettings } from './rules.js';
import type { IndexView } from './types.js';

export function verifyBatch(
  task: BatchTask,
  view: IndexView,
  settings: RuleSettings,
  maxMessageBytes: number,
): BatchResult[] {
  const overlay = new BatchOverlay(view);
  const at = new Date(task.now).toISOString();
  const results: BatchResult[] = new Array(task.messages.length);
  for (let i = 0; i < task.messages.length; i++) {
    const [value, encoding, partition, offset] = task.messages[i]!;
    const parsed = parseRequest(value, encoding === ENCODING_MSGPACK ? 'msgpack' : 'json', maxMessageBytes);
    if (parsed.kind === 'undecodable') {
      results[i] = { kind: 'undecodable', error: parsed.error };
      continue;
    }
    const source = { partition, offset };
    if (parsed.kind === 'invalid') {
      const decision = {
        outcome: 'rejected',
        requestId: parsed.requestId,
        imei: parsed.imei,
        body: null,
        reason: 'invalid_request',
        detail: parsed.detail,
      } as const;
      overlay.record(decision, source, at);
      results[i] = { kind: 'verdict', decision, replayed: false };
      continue;
    }
    const verdict = decide(parsed.request, source, overlay, settings);
    if (!verdict.replayed) overlay.record(verdict.decision, source, at);
    results[i] = { kind: 'verdict', decision: verdict.decision, replayed: verdict.replayed };
  }
  return results;
}
