/**
 * The journal window is ordered, not counted (issue 20). Recovery reads the last JOURNAL_WINDOW
 * journal records and publishes what of their outputs is missing; so batch k+1 may be journaled
 * only once every batch up to k−1 is delivered. Counting unsettled publishes is not enough: a
 * batch with no outputs (or one whose outputs went to a quicker partition) settles before the one
 * before it, and the window slid past an undelivered batch.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { devicePartition } from '../../src/domain/device-partition.js';
import { applyApplicationDecision } from '../../src/store/declarations.js';
import type { Store } from '../../src/store/store.js';
import { APPLE, imei, storeKnowingApple } from '../support/fixtures.js';
import { MemoryKafka } from '../support/memory-kafka.js';
import { PipelineInstance, settle, TOPICS } from '../support/pipeline-instance.js';
import { tempDir } from '../support/tmp.js';

const root = tempDir();
const opened: Store[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
});

function store(name: string): Store {
  const s = storeKnowingApple(join(root, name));
  opened.push(s);
  return s;
}

/** A device of partition 0 of 1 (every device), declared so its request is confirmed. */
const DEVICE = imei(APPLE, 4242);

/** A command that changes nothing: its batch is journaled with no outputs. */
function noop(kafka: MemoryKafka, n: number): void {
  kafka.append({
    topic: TOPICS.commands,
    partition: 0,
    key: null,
    value: Buffer.from(
      JSON.stringify({
        type: 'deadline',
        body: DEVICE.slice(0, 14),
        requestId: `none-${n}`,
        issuedAt: '2026-11-23T05:00:00.000Z',
      }),
    ),
  });
}

describe('the journal window', () => {
  it('a batch is journaled only once every batch two before it is delivered; a crash loses nothing', async () => {
    expect(devicePartition(DEVICE.slice(0, 14), 1)).toBe(0);
    const kafka = new MemoryKafka();
    const first = new PipelineInstance(kafka, store('first'), 1);
    first.store.env.transactionSync(() => {
      applyApplicationDecision(first.store, {
        entry: { applicationId: 'KZ-A', procedure: '40', status: 'released', hsCode: null, decidedAt: null },
        bodies: [DEVICE.slice(0, 14)],
      });
    });
    await first.recoverAndStart([0]);
    // Batch 1's result cannot be delivered yet (its partition's leader is away).
    first.producer.loseTo(TOPICS.results);
    kafka.append({
      topic: TOPICS.requests,
      partition: 0,
      key: DEVICE,
      value: Buffer.from(
        JSON.stringify({ requestId: 'r-1', imei: DEVICE, operator: 'beeline', channel: 'import' }),
      ),
    });
    await settle(kafka, [first]);
    // Batches 2 and 3 have no outputs: they settle at once.
    noop(kafka, 2);
    await settle(kafka, [first]);
    noop(kafka, 3);
    await settle(kafka, [first]);
    // Batch 3 waits for batch 1: the journal's last two records still cover it.
    const journal = kafka.messages(TOPICS.journal, 0).filter((m) => m.value !== null);
    expect(journal.length).toBeLessThanOrEqual(2);

    first.crash();
    const next = new PipelineInstance(kafka, store('next'), 1);
    next.store.env.transactionSync(() => {
      applyApplicationDecision(next.store, {
        entry: { applicationId: 'KZ-A', procedure: '40', status: 'released', hsCode: null, decidedAt: null },
        bodies: [DEVICE.slice(0, 14)],
      });
    });
    await next.recoverAndStart([0]);
    await settle(kafka, [next]);
    const results = kafka.messages(TOPICS.results, 0).map((m) => JSON.parse(m.value!.toString('utf8')));
    expect(results).toEqual([expect.objectContaining({ requestId: 'r-1', outcome: 'confirmed' })]);
    expect(kafka.messages(TOPICS.confirmations, 0)).toHaveLength(1);
  });
});
