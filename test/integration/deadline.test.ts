/**
 * Rule 7's deadline: with a deadline of zero working days and a fast sweep, a request waiting
 * for KGD moves to review (kgd_timeout); a release decision arriving afterwards still settles it.
 */
import { describe, expect, it } from 'vitest';
import { APPLE, imei } from '../support/fixtures.js';
import { seeded, useRig } from '../support/rig.js';

const rig = useRig({
  name: 'deadline',
  stores: { data: seeded() },
  kafka: { collect: ['results', 'confirmations'] },
  service: { store: 'data', config: { pending: { deadlineWorkingDays: 0, checkIntervalMs: 200 } } },
});
const { topics } = rig;

describe('the deadline for KGD', () => {
  it('sends a waiting request to review, once; a later release still confirms it', async () => {
    const device = imei(APPLE, 901);
    rig.producer.sendJson(topics.requests!, device, {
      requestId: 'dl-1',
      imei: device,
      operator: 'tele2',
      channel: 'individual',
    });
    await rig.producer.flush();
    const outcomesOf = () =>
      rig.collector
        .json<{ requestId: string; outcome: string; reason: string | null }>(topics.results!)
        .filter((r) => r.requestId === 'dl-1');
    await rig.collector.waitFor(() => outcomesOf().some((r) => r.outcome === 'review'), 30_000, 'the review');
    expect(outcomesOf().map((r) => `${r.outcome}/${r.reason}`)).toEqual([
      'pending/awaiting_kgd',
      'review/kgd_timeout',
    ]);
    // The sweep keeps running: the request must not be sent to review twice.
    await new Promise((r) => setTimeout(r, 1500));
    expect(outcomesOf()).toHaveLength(2);

    rig.producer.sendJson(topics.decisions!, 'KZ-DL', {
      applicationId: 'KZ-DL',
      procedure: '60',
      status: 'released',
      imeis: [device],
      decidedAt: new Date().toISOString(),
    });
    await rig.producer.flush();
    await rig.collector.waitFor(
      () => outcomesOf().some((r) => r.outcome === 'confirmed'),
      30_000,
      'the confirmation',
    );
    expect(rig.collector.of(topics.confirmations!).map((m) => m.key)).toEqual([device]);
  });
});
