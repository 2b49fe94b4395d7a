/**
 * A KGD export load records the month it covers where its rows went: in the local store, or as a
 * record on the `exports` topic after the decisions (a fake sink stands for Kafka here; the
 * integration test one-service.test.ts drives the real cluster). Every instance applies those
 * records (the `exports` global table).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { KgdExportContext } from '../../src/loaders/kgd-export-month.js';
import { load, loadTarget } from '../../src/loaders/loads.js';
import { applyMessages } from '../../src/pipeline/global-tables.js';
import type { OutgoingMessage, OutputSink } from '../../src/pipeline/kafka-port.js';
import { kgdExportsTable } from '../../src/pipeline/tables.js';
import { kgdExportRecordSchema, kgdExportStatus, latestKgdExport } from '../../src/store/kgd-exports.js';
import { openStore } from '../../src/store/store.js';
import { APPLE, imei } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const store = openStore({ dataDir: join(dir, 'store') });
afterAll(() => store.close());
const topics = loadConfig({ env: {} }).topics;
/** 20 April 2026, Astana: March has ended, April has not. */
const NOW = new Date('2026-04-20T10:00:00+05:00');
const context = (month: string | null = null): KgdExportContext => ({
  actor: 'kgd.loader',
  fileName: 'kgd-export.csv',
  month,
  utcOffsetMinutes: 300,
  now: () => NOW,
});

let files = 0;
/** A KGD export file: one row per decision date given (null: no date). */
function exportFile(dates: readonly (string | null)[], bad = 0): string {
  const rows = dates.map(
    (at, i) => `KZ-${files}-${i},40,${imei(APPLE, 1000 * files + i)},released,${at ?? ''}`,
  );
  for (let i = 0; i < bad; i++) rows.push(`KZ-${files}-bad-${i},40,123,released,`);
  const path = join(dir, `export-${files++}.csv`);
  writeFileSync(path, `ID заявки,Код таможенной процедуры,IMEI,status,decided_at\n${rows.join('\n')}\n`);
  return path;
}
const times = (n: number, at: string | null) => Array.from({ length: n }, () => at);

/** Stands for Kafka: keeps what is sent, in order. */
function fakeSink(): OutputSink & { readonly sent: OutgoingMessage[] } {
  const sent: OutgoingMessage[] = [];
  return {
    sent,
    async send(messages) {
      sent.push(...messages);
      return new Map();
    },
    async enqueue(messages) {
      sent.push(...messages);
      return { delivered: Promise.resolve(new Map()) };
    },
  };
}

describe('a KGD export load into the local store (the CLI without a cluster)', () => {
  it('records the month its decisions fall in (Astana), the file, rows, time and actor', async () => {
    // 31 March 20:00 UTC is 1 April in Astana: that row is April's.
    const file = exportFile([
      ...times(5, '2026-03-10T09:00:00Z'),
      '31.03.2026 12:00',
      '2026-03-31T20:00:00Z',
    ]);
    const report = await load('declarations', { kind: 'local', store }, file, {}, context());
    expect(report.rowsLoaded).toBe(7);
    expect(report.kgdExport).toEqual({
      month: '2026-03',
      from: 'decisions',
      warnings: [
        'recorded as the export of 2026-03, which most decisions fall in; the others: 2026-04: 1 row',
      ],
    });
    expect(store.exports.get('kgd/2026-03')).toEqual({
      month: '2026-03',
      monthFrom: 'decisions',
      file: 'kgd-export.csv',
      rows: 7,
      loadedAt: NOW.toISOString(),
      actor: 'kgd.loader',
    });
    expect(loadTarget(report)).toBe('7 rows loaded, 0 rejected; KGD export of 2026-03');
  });

  it('a month given wins; a file without dates and without one is not recorded', async () => {
    const undated = exportFile(times(3, null));
    const without = await load('declarations', { kind: 'local', store }, undated, {}, context());
    expect(without.kgdExport?.month).toBeNull();
    expect(without.kgdExport?.warnings.join()).toMatch(/no row has a decision date: not recorded/);
    expect(loadTarget(without)).toBe('3 rows loaded, 0 rejected');
    expect(store.exports.get('kgd/2026-02')).toBeUndefined();
    const given = await load('declarations', { kind: 'local', store }, undated, {}, context('2026-02'));
    expect(given.kgdExport).toEqual({ month: '2026-02', from: 'option', warnings: [] });
    expect(store.exports.get('kgd/2026-02')).toMatchObject({ monthFrom: 'option', rows: 3 });
  });

  it('two months with no majority, an unfinished month, or no row loaded: not recorded', async () => {
    const before = [...store.exports.getKeys()];
    const split = exportFile([...times(2, '2026-01-15T10:00:00Z'), ...times(2, '2026-02-15T10:00:00Z')]);
    expect(
      (await load('declarations', { kind: 'local', store }, split, {}, context())).kgdExport?.month,
    ).toBeNull();
    const april = exportFile(times(2, '2026-04-02T10:00:00Z'));
    const unfinished = await load('declarations', { kind: 'local', store }, april, {}, context());
    expect(unfinished.kgdExport?.warnings.at(-1)).toMatch(/2026-04 has not ended/);
    const rejected = exportFile([], 3);
    const none = await load('declarations', { kind: 'local', store }, rejected, {}, context('2026-01'));
    expect(none.rowsRejected).toBe(3);
    expect(none.kgdExport).toMatchObject({ month: null });
    expect(none.kgdExport?.warnings.at(-1)).toBe('no row loaded: not recorded as a monthly export');
    expect([...store.exports.getKeys()]).toEqual(before);
  });

  it('an empty export counts when its month is given (no decisions that month)', async () => {
    const empty = exportFile([]);
    const report = await load('declarations', { kind: 'local', store }, empty, {}, context('2026-01'));
    expect(report.kgdExport?.month).toBe('2026-01');
    expect(store.exports.get('kgd/2026-01')).toMatchObject({ rows: 0 });
  });

  it('other loads and declarations loads without a context record nothing', async () => {
    const keys = [...store.exports.getKeys()];
    const file = exportFile(times(2, '2025-12-10T10:00:00Z'));
    const report = await load('declarations', { kind: 'local', store }, file);
    expect(report.kgdExport).toBeUndefined();
    expect([...store.exports.getKeys()]).toEqual(keys);
  });

  it('GET /v1/info’s status: the latest month loaded against the month due', () => {
    expect(latestKgdExport(store)?.month).toBe('2026-03');
    // 20 April: March's export was due by 5 April, and it is loaded.
    expect(kgdExportStatus(store, NOW, 300)).toEqual({
      lastMonth: '2026-03',
      loadedAt: NOW.toISOString(),
      rows: 7,
      expectedMonth: '2026-03',
      overdue: false,
      next: { month: '2026-04', dueBy: '2026-05-05T19:00:00.000Z' },
    });
    // 6 May: April's is due and not loaded.
    expect(kgdExportStatus(store, new Date('2026-05-06T00:00:00+05:00'), 300)).toMatchObject({
      lastMonth: '2026-03',
      expectedMonth: '2026-04',
      overdue: true,
    });
  });
});

describe('a KGD export load on the cluster', () => {
  it('publishes the decisions, then one record keyed kgd/<month> on the exports topic', async () => {
    const sink = fakeSink();
    const file = exportFile(times(4, '2026-02-27T10:00:00Z'));
    const report = await load(
      'declarations',
      { kind: 'cluster', cluster: { sink, topics } },
      file,
      {},
      context(),
    );
    expect(report.kgdExport?.month).toBe('2026-02');
    expect(sink.sent.map((m) => m.topic)).toEqual([...times(4, topics.decisions), topics.exports]);
    const record = sink.sent.at(-1)!;
    expect(record.key).toBe('kgd/2026-02');
    expect(kgdExportRecordSchema.parse(JSON.parse(record.value!.toString('utf8')))).toEqual({
      month: '2026-02',
      monthFrom: 'decisions',
      file: 'kgd-export.csv',
      rows: 4,
      loadedAt: NOW.toISOString(),
      actor: 'kgd.loader',
    });
  });

  it('every instance applies the records; what is not one is skipped; a tombstone removes', async () => {
    const other = openStore({ dataDir: join(dir, 'other-instance') });
    try {
      const table = kgdExportsTable();
      const value = (v: unknown) => Buffer.from(JSON.stringify(v));
      const record = {
        month: '2025-12',
        monthFrom: 'option',
        file: 'december.xlsx',
        rows: 12,
        loadedAt: '2026-01-04T08:00:00.000Z',
        actor: 'cli:ops',
      };
      const message = (key: string, v: Buffer | null, offset: number) => ({
        topic: topics.exports,
        partition: 0,
        offset,
        key: Buffer.from(key),
        value: v,
        timestamp: 0,
        size: 0,
      });
      await other.env.transaction(() =>
        applyMessages(
          table,
          other,
          [
            message('kgd/2025-12', value(record), 0),
            message('kgd/2025-11', value(record), 1),
            message('kgd/2025-10', value({ ...record, month: '2025-10', rows: -1 }), 2),
            message('kgd/2025-09', Buffer.from('not json'), 3),
          ],
          { bodies: new Set(), applications: new Set() },
        ),
      );
      expect([...other.exports.getKeys()]).toEqual(['kgd/2025-12']);
      expect(other.exports.get('kgd/2025-12')).toEqual(record);
      await other.env.transaction(() =>
        applyMessages(table, other, [message('kgd/2025-12', null, 4)], {
          bodies: new Set(),
          applications: new Set(),
        }),
      );
      expect([...other.exports.getKeys()]).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
