/**
 * One unreadable record on an internal topic stops nothing (issue 20). Before, `echo 'not json' |
 * kcat -P -t imeiflow.tac` made every instance log the same error five times and exit, and a
 * restart resumed at the same offset. Now each instance passes the record (counted by
 * imeiflow_internal_records_skipped_total), the record validator sends it to the DLQ once per
 * cluster with its topic, partition and offset, and the records after it are applied.
 *
 * Two real service processes on the embedded cluster, garbage on every global-table topic.
 */
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { seeded, useRig } from '../support/rig.js';

interface DlqEntry {
  topic: string;
  partition: number;
  offset: number;
  error: string;
}

const rig = useRig({
  name: 'internal',
  stores: { a: seeded(), b: seeded() },
  kafka: { collect: ['dlq'] },
});
const { topics } = rig;

const GARBAGE_ROLES = [
  'tac',
  'blocklist',
  'localProduction',
  'tokens',
  'audit',
  'exports',
  'pendingChangelog',
] as const;

async function metric(port: number, name: string, topic: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{topic="${topic}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('an unreadable record on an internal topic', () => {
  it('is passed by every instance, reaches the DLQ once, and what follows it is applied', async () => {
    const a = await rig.startService('a');
    const b = await rig.startService('b');
    await Promise.all([a.waitReady(), b.waitReady()]);

    for (const role of GARBAGE_ROLES) rig.producer.send(topics[role], 'x', 'not json');
    // A TAC record that parses but is not one (no model, a bad TAC), and a good one after both.
    rig.producer.sendJson(topics.tac, '99999999', { tac: 'nine', brand: 42 });
    const good = {
      tac: '35999999',
      brand: 'Example',
      model: 'Phone 1',
      marketingName: 'Phone 1',
      manufacturer: 'Example Ltd',
      deviceType: 'Smartphone',
      operatingSystem: 'Android',
      bands: 'LTE',
      allocationDate: null,
    };
    rig.producer.sendJson(topics.tac, good.tac, good);
    await rig.producer.flush();

    const bad = GARBAGE_ROLES.length + 1;
    const entries = () =>
      rig.collector
        .json<DlqEntry>(topics.dlq)
        .filter((e) => GARBAGE_ROLES.some((role) => topics[role] === e.topic));
    await rig.collector.waitFor(() => entries().length >= bad, 60_000, `${bad} DLQ entries`);
    // Both instances have read past the garbage: the good TAC record is applied on each.
    for (const service of [a, b]) {
      const deadline = Date.now() + 60_000;
      while ((await metric(service.port, 'imeiflow_messages_consumed_total', topics.tac)) < 3) {
        if (Date.now() > deadline) throw new Error('an instance did not read the TAC topic');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await new Promise((r) => setTimeout(r, 3000));

    // Once per cluster, with where it was read and why.
    const dlq = entries();
    expect(dlq).toHaveLength(bad);
    expect(new Set(dlq.map((e) => `${e.topic}/${e.partition}/${e.offset}`)).size).toBe(bad);
    for (const role of GARBAGE_ROLES)
      expect(
        dlq.find((e) => e.topic === topics[role]),
        role,
      ).toMatchObject({ error: expect.any(String) });
    expect(dlq.find((e) => e.topic === topics.tac && e.error.includes('tac'))).toBeDefined();

    for (const service of [a, b]) {
      // Still up and ready: nothing stopped.
      expect((await fetch(`http://127.0.0.1:${service.port}/readyz`)).status).toBe(200);
      for (const role of GARBAGE_ROLES) {
        const skipped = await metric(service.port, 'imeiflow_internal_records_skipped_total', topics[role]);
        expect(skipped, `${role} on ${service.port}`).toBe(role === 'tac' ? 2 : 1);
      }
    }

    // A restart does not loop on the record: the instance comes back ready and passes nothing again.
    await a.kill('SIGTERM');
    const again = await rig.startService('a');
    await again.waitReady();
    await new Promise((r) => setTimeout(r, 2000));
    expect((await fetch(`http://127.0.0.1:${again.port}/readyz`)).status).toBe(200);
    expect(await metric(again.port, 'imeiflow_internal_records_skipped_total', topics.tac)).toBe(0);
    expect(entries()).toHaveLength(bad);
  });
});

describe('the partition count', () => {
  it('an instance whose state was built with another partition count refuses to start, saying why', async () => {
    // Store `b` as an instance that ran when the device topics had 8 partitions.
    const store = openStore({ dataDir: rig.dataDir('b') });
    try {
      await store.meta.put('layout/partitions', 8);
    } finally {
      await store.close();
    }
    const service = await rig.startService('b');
    const failure = await service.waitReady().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(String(failure)).toContain('PARTITIONS_CHANGED');
    expect(String(failure)).toMatch(/has 4 partitions; this instance ran with 8/);
  });
});
