/**
 * SIGKILL in the middle of a stream, then a restart on the same data: every request gets
 * exactly one outcome and every confirmed one exactly one БДИК confirmation.
 *
 * The requests are streamed at a steady rate while the service runs, is killed and restarts
 * (the embedded cluster keeps only ~5 MB per partition, so nothing is pre-filled).
 */
import { describe, expect, it } from 'vitest';
import { kindAt, requestAt } from '../../bench/lib/dataset.js';
import { indexed, useRig } from '../support/rig.js';
import { expectExactlyOnce, streamRequests } from '../support/stream.js';

const N = Number(process.env['IMEIFLOW_TEST_STREAM'] ?? 200_000);
const RATE_PER_SECOND = 5_000;

const rig = useRig({
  name: 'crash',
  stores: { data: indexed(N) },
  kafka: { collect: ['results', 'confirmations', 'dlq'] },
});
const { topics } = rig;

describe('SIGKILL mid-stream', () => {
  it(`loses nothing and duplicates nothing across a kill and restart (${N} requests)`, async () => {
    const first = await rig.startService('data');
    await first.waitReady();
    const runId = `crash-${Date.now()}`;
    const streaming = streamRequests(rig.producer, topics.requests!, N, RATE_PER_SECOND, (i) =>
      requestAt(i, N, runId),
    );

    // Kill once a good part of the stream has been answered, while requests keep coming.
    await rig.collector.waitFor(
      () => rig.collector.of(topics.results!).length >= N / 5,
      120_000,
      'the first fifth of the outcomes',
    );
    await first.kill('SIGKILL');
    const answeredAtKill = rig.collector.of(topics.results!).length;
    expect(answeredAtKill).toBeLessThan(N);

    await rig.startService('data');
    await streaming;
    await expectExactlyOnce(rig.collector, topics, N, runId, 240_000, (i) => kindAt(i) !== 'pending');
    expect(rig.collector.of(topics.dlq!)).toHaveLength(0);
  });
});
