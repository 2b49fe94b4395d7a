/**
 * A request's Kafka timestamp is its operator's clock (CreateTime), and the broker does not check
 * it. One that cannot be when the request was received — later than now (a producer writing
 * micro- or nanoseconds), negative — is replaced by the time imeiflow reads it: a waiting
 * request's deadline runs from it. Found in review: 1.7e18 (nanoseconds) is outside JavaScript's
 * dates, writing the waiting request failed, and the partition stopped on every attempt.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { APPLE, imei, storeKnowingApple } from '../support/fixtures.js';
import { MemoryKafka } from '../support/memory-kafka.js';
import { PipelineInstance, settle, TOPICS } from '../support/pipeline-instance.js';
import { tempDir } from '../support/tmp.js';

const root = tempDir();
let store: Store | undefined;
afterAll(async () => {
  await store?.close();
});

const NOW = Date.now();
const CASES: [string, number][] = [
  ['nanoseconds', NOW * 1e6],
  ['microseconds', NOW * 1e3],
  ['an hour ahead', NOW + 3_600_000],
  ['negative', -5],
];

describe('a request whose timestamp cannot be when it was received', () => {
  it('waits for KGD from when it was read, and nothing stops', async () => {
    store = storeKnowingApple(join(root, 'data'));
    const kafka = new MemoryKafka();
    const instance = new PipelineInstance(kafka, store, 1);
    await instance.recoverAndStart([0]);
    for (const [i, [name, timestamp]] of CASES.entries()) {
      // Undeclared: the request waits for KGD, with a deadline counted from its receipt.
      const device = imei(APPLE, 7100 + i);
      kafka.append({
        topic: TOPICS.requests,
        partition: 0,
        key: device,
        timestamp,
        value: Buffer.from(
          JSON.stringify({ requestId: name, imei: device, operator: 'beeline', channel: 'import' }),
        ),
      });
    }
    await settle(kafka, [instance]);
    expect(instance.fatal).toEqual([]);
    const outcomes = kafka
      .messages(TOPICS.results, 0)
      .map((m) => JSON.parse(m.value!.toString()) as { requestId: string; outcome: string });
    const after = Date.now();
    for (const [i, [name]] of CASES.entries()) {
      expect(
        outcomes.find((r) => r.requestId === name),
        name,
      ).toMatchObject({ outcome: 'pending' });
      const waiting = store.pending.get(imei(APPLE, 7100 + i).slice(0, 14))?.[0];
      const since = Date.parse(waiting?.since ?? '');
      expect(since, name).toBeGreaterThanOrEqual(NOW - 1000);
      expect(since, name).toBeLessThanOrEqual(after);
    }
  });
});
