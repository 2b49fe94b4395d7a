/**
 * Results per operator (issue 22, point 1), through the real service on the embedded cluster:
 * each operator's answers are on its own results topic and on no other, whatever the decision
 * (confirmed, rejected, pending, an invalid request); a request naming an operator without a topic
 * of its own is answered on the shared topic and counted; and results take the reduced customs
 * view by default while БДИК's confirmation keeps the application.
 */
import { describe, expect, it } from 'vitest';
import { APPLE, imei } from '../support/fixtures.js';
import { seeded, useRig } from '../support/rig.js';

interface Result {
  requestId: string;
  imei: string;
  outcome: string;
  reason: string | null;
  evidence?: string;
  detail: string;
}

const A = (serial: number) => imei(APPLE, serial);

const rig = useRig({
  name: 'tenants',
  stores: {
    data: seeded({
      declarations: [
        'application_id,procedure_code,imei,status',
        `KZ-TENANT-1,40,${A(501)},released`,
        `KZ-TENANT-1,40,${A(502)},released`,
      ].join('\n'),
    }),
  },
  kafka: { collect: ['results', 'confirmations'] },
  service: { store: 'data' },
});
const { topics } = rig;

function topicOf(operator: string): string {
  const found = rig.operatorResults.find((o) => o.operator === operator);
  if (found === undefined) throw new Error(`${operator} has no results topic in the default configuration`);
  return found.topic;
}

const send = (requestId: string, device: string, operator: string) =>
  rig.producer.sendJson(topics.requests, device, { requestId, imei: device, operator, channel: 'import' });

const resultsOn = (topic: string) =>
  rig.collector
    .of(topic)
    .filter((m) => m.topic === topic && m.value !== null)
    .map((m) => JSON.parse(m.value!) as Result);

async function unroutedCount(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${rig.service.port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('imeiflow_results_unrouted_total'));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('results per operator', () => {
  it('each operator reads its own answers on its own topic, and only those', async () => {
    const sent: [string, string, string][] = [
      ['bee-confirmed', A(501), 'beeline'],
      ['bee-pending', A(503), 'beeline'],
      ['kcell-confirmed', A(502), 'kcell'],
      ['kcell-luhn', `${A(504).slice(0, 14)}${(Number(A(504).at(-1)) + 1) % 10}`, 'kcell'],
      ['mvno-pending', A(505), 'mvno-without-topic'],
    ];
    for (const [id, device, operator] of sent) send(id, device, operator);
    await rig.producer.flush();

    const all = () => rig.collector.json<Result>(topics.results);
    await rig.collector.waitFor(() => all().length >= sent.length, 30_000, 'an answer to every request');

    const bee = resultsOn(topicOf('beeline'));
    const kcell = resultsOn(topicOf('kcell'));
    const shared = resultsOn(topics.results);
    expect(bee.map((r) => r.requestId).sort()).toEqual(['bee-confirmed', 'bee-pending']);
    expect(kcell.map((r) => r.requestId).sort()).toEqual(['kcell-confirmed', 'kcell-luhn']);
    expect(shared.map((r) => r.requestId)).toEqual(['mvno-pending']);
    for (const other of ['tele2', 'altel']) expect(resultsOn(topicOf(other))).toEqual([]);
    expect(kcell.find((r) => r.requestId === 'kcell-luhn')).toMatchObject({
      outcome: 'rejected',
      reason: 'luhn_mismatch',
    });

    // One answer went where not every operator may read: counted, for the alert.
    expect(await unroutedCount()).toBe(1);
  });

  it('results withhold the application (reduced view); БДИК still gets it', async () => {
    await rig.collector.waitFor(
      () =>
        rig.collector
          .json<{ requestId: string }>(topics.confirmations)
          .some((c) => c.requestId === 'bee-confirmed'),
      30_000,
      'the confirmation of bee-confirmed',
    );
    const result = resultsOn(topicOf('beeline')).find((r) => r.requestId === 'bee-confirmed')!;
    expect(result).toMatchObject({ outcome: 'confirmed', evidence: 'kgd-release' });
    expect(result.detail).toContain('legal entry proven');
    expect(JSON.stringify(result)).not.toContain('KZ-TENANT-1');
    const confirmation = rig.collector
      .json<{ requestId: string; applicationId: string | null }>(topics.confirmations)
      .find((c) => c.requestId === 'bee-confirmed');
    expect(confirmation?.applicationId).toBe('KZ-TENANT-1');
  });
});
