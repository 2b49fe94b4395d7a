/**
 * Scaling out on the embedded cluster (4 partitions): three instances in one group take a
 * steady stream of 300 000 requests; one is killed and another added mid-stream. Every request
 * still gets exactly one outcome, every confirmation is sent once, and requests that waited in
 * the killed instance's partitions are settled by their new owner (restored from the pending
 * changelog). What three instances drain beside one is measured by bench/scale-out, not here.
 */
import { describe, expect, it } from 'vitest';
import { kindAt, requestAt } from '../../bench/lib/dataset.js';
import { partitionsOwned, waitForSpread } from '../../bench/lib/harness.js';
import { indexed, type ServiceProcess, useRig } from '../support/rig.js';
import { expectExactlyOnce, releaseWaiting, streamRequests } from '../support/stream.js';

const N = Number(process.env['IMEIFLOW_TEST_STREAM_SCALE'] ?? 300_000);
// Three instances, the broker and this test share two cores: the rate must stay below what
// they drain together, or the embedded cluster's ~5 MB per partition drops unread input.
const RATE_PER_SECOND = 2_500;
const INSTANCES = ['a', 'b', 'c', 'd'] as const;

const rig = useRig({
  name: 'scale-out',
  stores: Object.fromEntries(INSTANCES.map((name) => [name, indexed(N)])),
  kafka: { collect: ['results', 'confirmations', 'dlq'] },
});
const { topics } = rig;
/** The instances running now (the rig stops every one it started, killed ones included). */
const services = new Map<string, ServiceProcess>();

const progress = (message: string): void => {
  process.stderr.write(`[scale-out] ${new Date().toISOString()} ${message}\n`);
};

async function start(name: (typeof INSTANCES)[number]): Promise<ServiceProcess> {
  const service = await rig.startService(name);
  services.set(name, service);
  return service;
}

/** Fails fast, naming the cause, if an instance reports input the broker dropped unread. */
function expectNoInputLost(): void {
  for (const [name, service] of services) {
    const lost = service.output.find((line) => line.includes('input was deleted by the broker'));
    if (lost !== undefined)
      throw new Error(`instance ${name} lost input (the stream outran the instances): ${lost}`);
  }
}

describe('three instances, one killed, one added', () => {
  it('stays exactly once through both moves and settles requests that moved while waiting', {
    timeout: 900_000,
  }, async () => {
    const [a, b, c] = await Promise.all([start('a'), start('b'), start('c')]);
    await Promise.all([a!.waitReady(), b!.waitReady(), c!.waitReady()]);
    await waitForSpread([a!, b!, c!], 4);
    const ownedByB = await partitionsOwned(b!);
    progress(`spread; b owns ${ownedByB.join(',')}`);

    const runId = `so-${Date.now()}`;
    const streaming = streamRequests(rig.producer, topics.requests!, N, RATE_PER_SECOND, (i) =>
      requestAt(i, N, runId),
    );
    await rig.collector.waitFor(
      () => rig.collector.of(topics.results!).length >= N / 4,
      300_000,
      'a quarter of the outcomes',
    );
    await b!.kill('SIGKILL');
    services.delete('b');
    progress('b killed');
    await rig.collector.waitFor(
      () => rig.collector.of(topics.results!).length >= N / 2,
      300_000,
      'half of the outcomes',
    );
    const d = await start('d');
    await d.waitReady();
    progress('d ready');
    await streaming;
    progress('stream sent');
    expectNoInputLost();
    await expectExactlyOnce(rig.collector, topics, N, runId, 300_000, (i) => kindAt(i) !== 'pending');
    progress('exactly once holds');

    // Requests that waited for KGD in the killed instance's partitions, now owned elsewhere.
    expect(
      await releaseWaiting(rig.collector, rig.producer, topics, runId, ownedByB, 'KZ-SCALE', 30),
    ).toBeGreaterThan(0);
    progress('moved waiting requests settled');
    await expectExactlyOnce(rig.collector, topics, N, runId, 10_000, (i) => kindAt(i) !== 'pending');
    expect(rig.collector.of(topics.dlq!)).toHaveLength(0);
  });
});
