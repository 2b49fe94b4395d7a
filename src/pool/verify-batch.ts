/** Decide every message of a batch in order; pure over the index view it is given. */

import { BatchOverlay } from '../domain/batch-overlay.js';
import { confirmationMessage, dlqMessage, resultMessage } from '../domain/outputs.js';
import { parseRequest } from '../domain/request.js';
import { decide, type RuleSettings } from '../domain/rules.js';
import type { Decision, IndexView, RejectedDecision, VerifyRequest } from '../domain/types.js';
import type { BatchResult, BatchTask } from './batch-contract.js';
import { ENCODING_MSGPACK } from './batch-contract.js';

/** Where a request was read: `<partition>/<offset>`, the identity rule 10 compares. */
export function requestSource(partition: number, offset: number): string {
  return `${partition}/${offset}`;
}

/** A decision with its output messages: the one shape every decided message takes. */
export function verdictOf(
  decision: Decision,
  replayed: boolean,
  request: VerifyRequest | null,
  at: string,
): Extract<BatchResult, { kind: 'verdict' }> {
  const waits = decision.outcome === 'pending' || decision.outcome === 'review';
  return {
    kind: 'verdict',
    decision,
    replayed,
    result: resultMessage(decision, at),
    confirmation:
      decision.outcome === 'confirmed' && decision.notify ? confirmationMessage(decision, at) : null,
    request: waits ? request : null,
  };
}

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
    const [value, encoding, partition, offset, key] = task.messages[i]!;
    const parsed = parseRequest(value, encoding === ENCODING_MSGPACK ? 'msgpack' : 'json', maxMessageBytes);
    if (parsed.kind === 'undecodable') {
      results[i] = {
        kind: 'undecodable',
        error: parsed.error,
        dlq: dlqMessage({ topic: task.topic, partition, offset, key }, value, parsed.error, at),
      };
      continue;
    }
    const source = requestSource(partition, offset);
    if (parsed.kind === 'invalid') {
      const decision: RejectedDecision = {
        outcome: 'rejected',
        requestId: parsed.requestId,
        imei: parsed.imei,
        body: null,
        reason: 'invalid_request',
        detail: parsed.detail,
      };
      overlay.record(decision, source, partition, at);
      results[i] = verdictOf(decision, false, null, at);
      continue;
    }
    const { decision, replayed } = decide(parsed.request, source, overlay, settings);
    if (!replayed) overlay.record(decision, source, partition, at);
    results[i] = verdictOf(decision, replayed, parsed.request, at);
  }
  return results;
}
