/**
 * Recovery from the journal, made deterministic: a "previous owner" — an earlier build, writing
 * journal format 1 — journaled a batch and published only its first output before dying. The
 * service taking over must read the old record, publish exactly the missing outputs, apply the
 * batch's state, and resume after the journaled input.
 */
import { describe, expect, it } from 'vitest';
import { journalKey } from '../../src/pipeline/journal.js';
import { POSITION_HEADER } from '../../src/pipeline/positions.js';
import { openStore } from '../../src/store/store.js';
import { structuredPackr } from '../../src/store/structures.js';
import { APPLE, imei } from '../support/fixtures.js';
import { seeded, useRig } from '../support/rig.js';

const rig = useRig({
  name: 'journal',
  stores: { data: seeded() },
  kafka: { collect: ['results', 'confirmations'] },
});
const { topics } = rig;
const dataDir = rig.dataDir('data');
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const DEVICE = imei(APPLE, 777);
/** Format 1's output roles (journal.ts). */
const ROLE_RESULTS = 0;
const ROLE_CONFIRMATIONS = 1;
const ROLE_PENDING_CHANGELOG = 4;
const ROLE_REGISTRY_CHANGELOG = 5;
const packr = structuredPackr();
/** Format 1's changelog values: the state itself, packed with the shared structures. */
const encodeState = (value: unknown) => Uint8Array.from(packr.pack(value));

describe('taking over a partition from a dead owner', () => {
  it('publishes exactly the outputs it had not published and resumes after its input', async () => {
    // Five requests in partition 0; the dead owner had decided the first three.
    for (let i = 0; i < 5; i++) {
      const id = i < 3 ? `old-${i}` : `new-${i}`;
      rig.producer.send(
        topics.requests!,
        DEVICE,
        JSON.stringify({ requestId: id, imei: imei(APPLE, 800 + i), operator: 'kcell', channel: 'import' }),
        undefined,
        0,
      );
    }
    const registry = {
      requestId: 'j-confirmed',
      partition: 0,
      imei: DEVICE,
      ownerId: null,
      msisdn: null,
      evidence: 'kgd-release' as const,
      applicationId: 'KZ-J',
      procedure: '40',
      at: '2026-11-23T00:00:00.000Z',
    };
    const confirmation = {
      requestId: 'j-confirmed',
      imei: DEVICE,
      tac: APPLE,
      brand: 'Apple',
      model: 'iPhone 6',
      deviceType: 'Smartphone',
      ownerId: null,
      msisdn: null,
      evidence: 'kgd-release',
      applicationId: 'KZ-J',
      procedure: '40',
      verifiedAt: '2026-11-23T00:00:00.000Z',
    };
    const record = {
      seq: 5,
      partition: 0,
      inputs: { requests: 3, commands: 0 },
      outputs: [
        [
          ROLE_RESULTS,
          'j-rejected',
          json({ requestId: 'j-rejected', outcome: 'rejected', reason: 'tac_unknown' }),
        ],
        [ROLE_REGISTRY_CHANGELOG, `r/${DEVICE.slice(0, 14)}`, encodeState(registry)],
        [ROLE_RESULTS, 'j-confirmed', json({ requestId: 'j-confirmed', outcome: 'confirmed' })],
        [ROLE_CONFIRMATIONS, DEVICE, json(confirmation)],
        [ROLE_PENDING_CHANGELOG, `p/${imei(APPLE, 779).slice(0, 14)}`, null],
      ],
      outcomes: [],
      at: '2026-11-23T00:00:00.000Z',
    };
    // Earlier, it had published a waiting request to the pending changelog: the new owner must
    // restore it even though recovery itself publishes to that changelog too.
    const waitingBody = imei(APPLE, 778).slice(0, 14);
    const waitingEntry = {
      request: {
        requestId: 'old-waiting',
        imei: imei(APPLE, 778),
        operator: 'kcell',
        channel: 'import' as const,
      },
      partition: 0,
      source: '0/0',
      stage: 'awaiting_kgd' as const,
      reason: 'awaiting_kgd' as const,
      detail: 'no KGD release decision lists this IMEI yet',
      since: '2026-11-22T00:00:00.000Z',
      deadline: '2026-11-23T00:00:00.000Z',
    };
    rig.producer.send(
      topics.pendingChangelog!,
      `p/${waitingBody}`,
      Buffer.from(encodeState([waitingEntry])),
      undefined,
      0,
    );
    rig.producer.send(topics.journal!, journalKey(0, 5), Buffer.from(packr.pack(record)), undefined, 0);
    // It had published the first output only.
    rig.producer.send(
      topics.results!,
      'j-rejected',
      Buffer.from(record.outputs[0]![2]! as Uint8Array),
      [{ [POSITION_HEADER]: '5.0' }],
      0,
    );
    await rig.producer.flush();

    const service = await rig.startService('data');
    await rig.collector.waitFor(
      () => rig.collector.of(topics.results!).filter((m) => m.key?.startsWith('new-')).length === 2,
      60_000,
      'answers to the two requests after the journaled position',
    );
    await new Promise((r) => setTimeout(r, 1000));

    const keys = rig.collector.of(topics.results!).map((m) => m.key);
    expect(keys.filter((k) => k === 'j-rejected')).toHaveLength(1);
    expect(keys.filter((k) => k === 'j-confirmed')).toHaveLength(1);
    expect(keys.filter((k) => k?.startsWith('old-'))).toEqual([]);
    expect(rig.collector.of(topics.confirmations!).map((m) => m.key)).toEqual([DEVICE]);

    // The batch's state reached the store.
    const store = openStore({ dataDir, readOnly: true });
    try {
      expect(store.registry.get(DEVICE.slice(0, 14))).toMatchObject({
        requestId: 'j-confirmed',
        applicationId: 'KZ-J',
      });
    } finally {
      await store.close();
    }
    expect(service.output.some((l) => l.includes('publishing outputs the previous owner did not'))).toBe(
      true,
    );
  });
});
