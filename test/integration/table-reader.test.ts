/**
 * The engine that reads topics into LMDB at stored positions (src/pipeline/table-reader.ts)
 * reports a message its table cannot decode to `skipped` — counted in
 * `imeiflow_internal_records_skipped_total` (the ImeiflowInternalRecordUnreadable alert) and
 * logged — once per commit of the positions that pass it. A batch whose transaction fails is read
 * again from the stored positions: its bad records must not be counted again each time.
 *
 * The broker is the embedded cluster in its own process; the three messages are on partition 0
 * of a real topic before the reader starts, so each read of it from the stored positions fetches
 * all three in one batch (the test checks it does). The global tables run in this process (the
 * real classes) over the real declarations table, throwing on its first attempt after it wrote
 * the batch.
 */
import { describe, expect, it } from 'vitest';
import { skippedRecords } from '../../src/components/service-tables.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { GlobalTables, positionKey } from '../../src/pipeline/global-tables.js';
import { declarationsTable } from '../../src/pipeline/tables.js';
import { openStore } from '../../src/store/store.js';
import { APPLE, imei } from '../support/fixtures.js';
import { useRig } from '../support/rig.js';
import { waitUntil } from '../support/wait.js';

const rig = useRig({ name: 'table-reader', kafka: { collect: [] } });
const log = createLogger(process.env['TEST_LOG_LEVEL'] ?? 'silent');

function released(applicationId: string, serial: number): string {
  return JSON.stringify({
    applicationId,
    procedure: '40',
    status: 'released',
    imeis: [imei(APPLE, serial)],
    decidedAt: '2026-11-20T09:00:00Z',
  });
}

describe('the table reader', () => {
  it('reports a record it passes once, even when its batch is applied again', async () => {
    const dataDir = `${rig.root}/store`;
    const config = loadConfig({
      env: { ...rig.env, KAFKA_BROKERS: rig.broker.bootstrap, IMEIFLOW_DATA_DIR: dataDir },
    });
    const topic = config.topics.decisions;
    // One batch on partition 0: a decision, one that is not JSON, a decision.
    rig.producer.send(topic, 'KZ-1', released('KZ-1', 1), undefined, 0);
    rig.producer.send(topic, 'KZ-2', '{"applicationId": "KZ-2", ', undefined, 0);
    rig.producer.send(topic, 'KZ-3', released('KZ-3', 3), undefined, 0);
    await rig.producer.flush();

    const store = openStore({ dataDir });
    const real = declarationsTable(log);
    let attempts = 0;
    const read: number[] = [];
    const applied: number[][] = [];
    const committed: number[] = [];
    const consumed: [string, number][] = [];
    const metrics = new Metrics({ defaultMetrics: false });
    const report = skippedRecords(metrics, log);
    const reported: { at: string; error: string }[] = [];
    const fatal: Error[] = [];
    const tables = new GlobalTables({
      config,
      kafka: { bootstrapServers: rig.broker.bootstrap, clientId: 'table-reader-test' },
      store,
      log,
      tables: [
        {
          role: real.role,
          decode(m) {
            read.push(m.offset);
            return real.decode(m);
          },
          apply(s, records, changes) {
            attempts++;
            applied.push(records.map(({ message: m }) => m.offset));
            real.apply(s, records, changes);
            if (attempts === 1) throw new Error('injected: the LMDB write of attempt 1 failed');
          },
          afterCommit(records) {
            for (const { message: m } of records) committed.push(m.offset);
          },
        },
      ],
      onChanged: () => undefined,
      consumed: (t, count) => consumed.push([t, count]),
      skipped: (m, error, refused) => {
        reported.push({ at: `${m.topic}/${m.partition}/${m.offset}`, error });
        report(m, error, refused);
      },
      onFatal: (error) => fatal.push(error),
    });
    try {
      await tables.start();
      await waitUntil('the batch applied', 30_000, () => tables.applied === 3, 20);
    } finally {
      await tables.stop();
    }

    try {
      expect(fatal).toEqual([]);
      // The batch was read twice from the broker, all three messages each time, from the stored
      // positions (none: the failed attempt's transaction kept nothing); the first attempt
      // threw, the second committed.
      expect(read).toEqual([0, 1, 2, 0, 1, 2]);
      expect(applied).toEqual([
        [0, 2],
        [0, 2],
      ]);
      expect(attempts).toBe(2);
      expect(consumed).toEqual([[topic, 3]]);
      expect(committed).toEqual([0, 2]);
      // The positions committed pass the record, and it was reported once.
      expect(store.meta.get(positionKey(topic, 0))).toBe(3);
      expect(reported).toEqual([{ at: `${topic}/0/1`, error: expect.stringMatching(/^not JSON/) }]);
      expect(await metrics.registry.metrics()).toContain(
        `imeiflow_internal_records_skipped_total{topic="${topic}"} 1`,
      );
    } finally {
      await store.close();
    }
  });
});
