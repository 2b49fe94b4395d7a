/**
 * A broker that stalls while a fresh instance restores (issue 20). The partition reader used to
 * take 2 s without messages for the end of the data: a broker paused for longer (a leader
 * election, throttling, a stall) made recovery checkpoint a half-read registry changelog as
 * complete, and a device it forgot was confirmed to БДИК a second time on its next request.
 *
 * The embedded cluster runs in its own process and is paused with SIGSTOP for 4 s just as a new
 * instance with an empty registry starts restoring the partitions another instance left, and again
 * after each moment's work until the restore is done; then the same devices are sent again by the
 * same owners. Each must be confirmed again without a second
 * БДИК confirmation, and every request answered.
 */
import { describe, expect, it } from 'vitest';
import { APPLE, imei } from '../support/fixtures.js';
import { seeded, useRig } from '../support/rig.js';

const DEVICES = 20_000;
const devices = Array.from({ length: DEVICES }, (_, i) => imei(APPLE, 700_000 + i));
const declarations = [
  'application_id,procedure_code,imei,status',
  ...devices.map((d) => `KZ-PAUSE,40,${d},released`),
].join('\n');

const rig = useRig({
  name: 'pause',
  stores: { a: seeded({ declarations }), b: seeded({ declarations }) },
  kafka: { collect: ['results', 'confirmations'] },
});
const { topics } = rig;

function send(round: string): void {
  for (const [i, device] of devices.entries()) {
    rig.producer.sendJson(topics.requests!, device.slice(0, 14), {
      requestId: `${round}-${i}`,
      imei: device,
      operator: 'beeline',
      channel: 'import',
      ownerId: '880101300123',
      msisdn: '+77011234567',
    });
  }
}

const finals = (round: string) =>
  rig.collector
    .json<{ requestId: string; outcome: string }>(topics.results!)
    .filter((r) => r.requestId.startsWith(`${round}-`) && r.outcome === 'confirmed');

describe('a broker paused while a fresh instance restores', () => {
  it('confirms no device twice and loses nothing', async () => {
    const first = await rig.startService('a');
    await first.waitReady();
    send('one');
    await rig.producer.flush();
    await rig.collector.waitFor(() => finals('one').length >= DEVICES, 120_000, 'the first round');
    await first.kill('SIGTERM');

    // A new instance with an empty registry: as soon as it starts restoring, the broker stalls.
    const second = await rig.startService('b');
    const deadline = Date.now() + 60_000;
    while (!second.output.some((line) => line.includes('partitions assigned; recovering'))) {
      if (Date.now() > deadline) throw new Error('the new instance never started recovering');
      await new Promise((r) => setTimeout(r, 5));
    }
    // 4 s stalls with a moment's work between them, until it has recovered: a read in progress
    // meets a stall longer than any quiet spell a reader might take for the end.
    const recovered = () => second.output.some((line) => line.includes('partitions recovered; consuming'));
    let stalls = 0;
    while (!recovered() && stalls < 10) {
      process.kill(rig.broker.pid, 'SIGSTOP');
      try {
        await new Promise((r) => setTimeout(r, 4000));
      } finally {
        process.kill(rig.broker.pid, 'SIGCONT');
      }
      stalls++;
      await new Promise((r) => setTimeout(r, 30 + stalls * 20));
    }
    await second.waitReady(120_000);

    send('two');
    await rig.producer.flush();
    await rig.collector.waitFor(() => finals('two').length >= DEVICES, 120_000, 'the second round');
    await new Promise((r) => setTimeout(r, 3000));

    // Every request of both rounds has exactly one final outcome, confirmed.
    for (const round of ['one', 'two']) {
      const ids = finals(round).map((r) => r.requestId);
      expect(new Set(ids).size, round).toBe(DEVICES);
      expect(ids, round).toHaveLength(DEVICES);
    }
    // БДИК got one confirmation per device: the second round found every device registered.
    const confirmations = rig.collector.of(topics.confirmations!).filter((m) => m.value !== null);
    const perDevice = new Map<string, number>();
    for (const m of confirmations) perDevice.set(m.key!, (perDevice.get(m.key!) ?? 0) + 1);
    expect(perDevice.size).toBe(DEVICES);
    expect([...perDevice.values()].filter((n) => n !== 1)).toEqual([]);
  });
});
