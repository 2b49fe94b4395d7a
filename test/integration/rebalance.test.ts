/**
 * Two instances in one consumer group; one is killed mid-stream. The survivor takes over its
 * partitions — including the requests waiting there for KGD, restored from the pending
 * changelog — and every request still gets exactly one outcome, every confirmation exactly once.
 */
import { describe, expect, it } from 'vitest';
import { kindAt, requestAt } from '../../bench/lib/dataset.js';
import { indexed, type ServiceProcess, useRig } from '../support/rig.js';
import { expectExactlyOnce, releaseWaiting, streamRequests } from '../support/stream.js';

const N = Number(process.env['IMEIFLOW_TEST_STREAM_REBALANCE'] ?? 100_000);
const RATE_PER_SECOND = 4_000;

const rig = useRig({
  name: 'rebalance',
  // Every instance keeps its own LMDB with the global tables (TAC, declarations, block list).
  stores: { a: indexed(N), b: indexed(N) },
  kafka: { collect: ['results', 'confirmations', 'dlq'] },
});
const { topics } = rig;

const partitionsOf = async (service: ServiceProcess): Promise<number[]> => {
  const response = await fetch(`http://127.0.0.1:${service.port}/v1/info`);
  return ((await response.json()) as { partitionsOwned: number[] }).partitionsOwned;
};

describe('two instances, one killed', () => {
  it("the survivor finishes the stream exactly once and settles the dead one's pending requests", async () => {
    const a = await rig.startService('a');
    const b = await rig.startService('b');
    await Promise.all([a.waitReady(), b.waitReady()]);
    // Both own partitions before the stream starts.
    const deadline = Date.now() + 30_000;
    while ((await partitionsOf(a)).length === 0 || (await partitionsOf(b)).length === 0) {
      if (Date.now() > deadline) throw new Error('the group never spread over both instances');
      await new Promise((r) => setTimeout(r, 500));
    }
    const ownedByA = await partitionsOf(a);

    const runId = `rb-${Date.now()}`;
    const streaming = streamRequests(rig.producer, topics.requests!, N, RATE_PER_SECOND, (i) =>
      requestAt(i, N, runId),
    );
    await rig.collector.waitFor(
      () => rig.collector.of(topics.results!).length >= N / 4,
      120_000,
      'a quarter of the outcomes',
    );
    await a.kill('SIGKILL');
    await streaming;

    // Every request not waiting for KGD gets its final outcome exactly once.
    await expectExactlyOnce(rig.collector, topics, N, runId, 240_000, (i) => kindAt(i) !== 'pending');

    // Requests that were waiting in the dead instance's partitions are settled by the survivor.
    expect(
      await releaseWaiting(rig.collector, rig.producer, topics, runId, ownedByA, 'KZ-AFTER-KILL', 20),
    ).toBeGreaterThan(0);
    await expectExactlyOnce(rig.collector, topics, N, runId, 10_000, (i) => kindAt(i) !== 'pending');
    expect(rig.collector.of(topics.dlq!)).toHaveLength(0);
  });
});
