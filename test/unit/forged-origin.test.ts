/**
 * A forwarded request names where it was first read (`imeiflow-origin: <partition>.<offset>`), and
 * the partition's journal keeps, per origin partition, the last forward it took. A partition the
 * device topics do not have is no origin: found in review, a forward naming partition 10 000 000
 * made a journal record of 10 MB (a position for every partition up to it), which the producer
 * refuses past 8 MiB, on every attempt; near 4e9 the process ran out of memory.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ORIGIN_HEADER } from '../../src/pipeline/positions.js';
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

describe('a forward naming a partition the topics do not have', () => {
  it('is decided as a forward of no known origin, and the journal stays small', async () => {
    store = storeKnowingApple(join(root, 'data'));
    const kafka = new MemoryKafka();
    const instance = new PipelineInstance(kafka, store, 1);
    await instance.recoverAndStart([0]);
    const device = imei(APPLE, 7300);
    kafka.append({
      topic: TOPICS.repartition,
      partition: 0,
      key: device,
      headers: [{ [ORIGIN_HEADER]: '10000000.5' }],
      value: Buffer.from(
        JSON.stringify({ requestId: 'forged', imei: device, operator: 'beeline', channel: 'import' }),
      ),
    });
    await settle(kafka, [instance]);
    expect(instance.fatal).toEqual([]);
    const outcomes = kafka
      .messages(TOPICS.results, 0)
      .map((m) => JSON.parse(m.value!.toString()) as { requestId: string });
    expect(outcomes.map((o) => o.requestId)).toContain('forged');
    const journal = kafka.messages(TOPICS.journal, 0);
    expect(journal.length).toBeGreaterThan(0);
    expect(Math.max(...journal.map((m) => m.value?.length ?? 0))).toBeLessThan(64 * 1024);
  });
});
