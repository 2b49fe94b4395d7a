/**
 * The registry view is a table of the engine that reads topics into LMDB (issue 21, point 5), and
 * its bad records follow the global tables' one policy: a record of БДИК's changelog that is not a
 * confirmation or a revocation of a device is passed (never retried) and reported, counted in
 * `imeiflow_internal_records_skipped_total` (the ImeiflowInternalRecordUnreadable alert) and
 * named to the record validator, which sends it to the DLQ once per cluster — where the view used
 * to log it and nothing else. What reads is applied in its owner's order, as before.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skippedRecords } from '../../src/components/service-tables.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { applyMessages, type IndexChanges } from '../../src/pipeline/global-tables.js';
import type { LogMessage } from '../../src/pipeline/kafka-port.js';
import { positionHeader } from '../../src/pipeline/positions.js';
import { registryViewTable } from '../../src/pipeline/registry-view.js';
import { VALIDATED_ROLES } from '../../src/pipeline/table-decoders.js';
import { openStore } from '../../src/store/store.js';
import { TEST_SECRETS, testDecoders } from '../support/cluster-key.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const store = openStore({ dataDir: join(dir, 'store'), secrets: TEST_SECRETS });
afterAll(() => store.close());
const topics = loadConfig({ env: {} }).topics;
const log = createLogger('silent');

const IMEI = '352099001761481';
const BODY = IMEI.slice(0, 14);

function confirmation(requestId: string, imei = IMEI): Buffer {
  return Buffer.from(
    JSON.stringify({
      requestId,
      imei,
      tac: imei.slice(0, 8),
      brand: 'Apple',
      model: 'iPhone 6',
      deviceType: 'Smartphone',
      ownerId: '900215400559',
      msisdn: '+77015550123',
      evidence: 'kgd-release',
      applicationId: 'KZ-1',
      procedure: '40',
      operator: 'beeline',
      verifiedAt: '2026-11-20T10:00:00.000Z',
    }),
  );
}

let offset = 0;
/** A message of БДИК's changelog, partition 3, decided at journal record `seq`. */
function message(topic: string, key: string, value: Buffer | null, seq: number): LogMessage {
  return {
    topic,
    partition: 3,
    offset: offset++,
    key: Buffer.from(key),
    value,
    timestamp: 0,
    headers: [positionHeader(seq, 0)],
  };
}

const changes = (): IndexChanges => ({ bodies: new Set(), applications: new Set() });
const notOwned = () => new Set<number>();

describe("the registry view's records", () => {
  const confirmations = registryViewTable('confirmations', notOwned);
  const revocations = registryViewTable('revocations', notOwned);

  it('are applied in their owner’s order: a later revocation removes, an older confirmation does not return', async () => {
    await store.env.transaction(() => {
      expect(
        applyMessages(
          confirmations,
          store,
          [message(topics.confirmations, IMEI, confirmation('r-1'), 5)],
          changes(),
        ),
      ).toEqual([]);
    });
    expect(store.registryView.get(BODY)).toMatchObject({
      entry: { requestId: 'r-1', ownerId: '900215400559' },
    });
    await store.env.transaction(() => {
      applyMessages(revocations, store, [message(topics.revocations, IMEI, Buffer.from('{}'), 7)], changes());
      applyMessages(
        confirmations,
        store,
        [message(topics.confirmations, IMEI, confirmation('r-0'), 6)],
        changes(),
      );
    });
    expect(store.registryView.get(BODY)).toEqual({ order: 7_000_000, entry: null });
  });

  it('that are not a confirmation or revocation of a device are passed, counted and named to the DLQ', async () => {
    const bad = [
      message(topics.confirmations, IMEI, Buffer.from('not json'), 9),
      message(topics.confirmations, IMEI, confirmation('r-2', '35209900176148'), 9),
      message(topics.confirmations, 'not-an-imei', confirmation('r-3'), 9),
    ];
    const badRevocation = message(topics.revocations, '3520990017614', null, 9);
    let skipped: ReturnType<typeof applyMessages> = [];
    await store.env.transaction(() => {
      skipped = [
        ...applyMessages(confirmations, store, bad, changes()),
        ...applyMessages(revocations, store, [badRevocation], changes()),
      ];
    });
    // Passed, with why: nothing of them reached the view.
    expect(skipped.map((s) => s.message)).toEqual([...bad, badRevocation]);
    expect(skipped[1]!.error).toMatch(/not a БДИК confirmation: imei/);
    expect(store.registryView.get(BODY)).toEqual({ order: 7_000_000, entry: null });

    // Counted, as the global tables' are (the service passes the view the same callback).
    const metrics = new Metrics({ defaultMetrics: false });
    const report = skippedRecords(metrics, log);
    for (const { message: m, error, refused } of skipped) report(m, error, refused);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`imeiflow_internal_records_skipped_total{topic="${topics.confirmations}"} 3`);
    expect(text).toContain(`imeiflow_internal_records_skipped_total{topic="${topics.revocations}"} 1`);

    // The record validator watches БДИК's changelog and names each for the DLQ, with the same reason.
    expect(VALIDATED_ROLES).toEqual(expect.arrayContaining(['confirmations', 'revocations']));
    const decoders = testDecoders();
    expect(bad.map((m) => decoders.problem('confirmations', m))).toEqual(
      skipped.slice(0, 3).map((s) => s.error),
    );
    expect(decoders.problem('revocations', badRevocation)).toBe(skipped[3]!.error);
  });

  it('what the view applies the validator passes: a confirmation, a tombstone, a revocation', () => {
    const decoders = testDecoders();
    expect(
      decoders.problem('confirmations', message(topics.confirmations, IMEI, confirmation('r-4'), 1)),
    ).toBeUndefined();
    expect(decoders.problem('confirmations', message(topics.confirmations, IMEI, null, 1))).toBeUndefined();
    expect(decoders.problem('revocations', message(topics.revocations, IMEI, null, 1))).toBeUndefined();
  });
});
