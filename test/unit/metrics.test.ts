import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CalendarWatch } from '../../src/components/calendar-watch.js';
import { STORE_GAUGES } from '../../src/components/lmdb-store.js';
import type { DeadlinePolicy } from '../../src/domain/deadline.js';
import { addMonths, dueExportMonth, monthTimestamp } from '../../src/domain/kgd-export.js';
import type { CalendarData } from '../../src/domain/working-day.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { DeadlineTimer } from '../../src/pipeline/deadline-timer.js';
import { gaugesOf } from '../../src/runtime/component.js';
import { putKgdExport } from '../../src/store/kgd-exports.js';
import type { Store } from '../../src/store/store.js';
import { openStore } from '../../src/store/store.js';
import { waitingEntry } from '../support/fixtures.js';
import { tempDir } from '../support/tmp.js';

const store = openStore({ dataDir: join(tempDir(), 'metrics') });
afterAll(() => store.close());

const log = createLogger('error');

/** The deadline timer's gauges: the waiting requests of the owned partitions. */
function waitingGauges(of: Store, ownedPartitions: readonly number[], deadlines?: DeadlinePolicy) {
  const commands = { send: async () => undefined };
  const owned = () => ownedPartitions;
  const deps = { store: of, commands, log, intervalMs: 60_000, ownedPartitions: owned };
  return new DeadlineTimer(deadlines === undefined ? deps : { ...deps, deadlines }).gauges;
}

const calendarGauges = (calendar: CalendarData, utcOffsetMinutes: number) =>
  new CalendarWatch({ calendar, utcOffsetMinutes, log }).gauges;

function gauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}

describe('metrics', () => {
  it('counts the waiting requests of the owned partitions, by stage, across scan steps', async () => {
    // 2 500 devices (more than one scan step): every 10th in review; partition 3 is not ours.
    await store.env.transaction(() => {
      for (let i = 0; i < 2_500; i++) {
        store.pending.put(String(10_000_000_000_000 + i), [
          waitingEntry(i, i % 4, i % 10 === 0 ? 'review' : 'awaiting_kgd'),
        ]);
      }
    });
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.register(waitingGauges(store, [0, 1, 2]));
    const text = await metrics.registry.metrics();
    const owned = Array.from({ length: 2_500 }, (_, i) => i).filter((i) => i % 4 !== 3);
    expect(gauge(text, 'imeiflow_review_requests')).toBe(owned.filter((i) => i % 10 === 0).length);
    expect(gauge(text, 'imeiflow_pending_requests')).toBe(owned.filter((i) => i % 10 !== 0).length);
  });

  it('times a batch in its two steps: the worker task and the journal append', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.batchDecided(20, 0.016);
    metrics.journalAppended(2, 7, 0.004);
    metrics.journalAppended(3, 9, 0.02);
    const text = await metrics.registry.metrics();
    expect(gauge(text, 'imeiflow_worker_task_duration_seconds_count')).toBe(1);
    expect(gauge(text, 'imeiflow_journal_append_duration_seconds_count')).toBe(2);
    expect(gauge(text, 'imeiflow_journal_append_duration_seconds_sum')).toBeCloseTo(0.024);
    expect(text).toContain('imeiflow_journal_append_duration_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('imeiflow_journal_seq{partition="3"} 9');
  });

  it('says until when the working-day calendar is known', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const name = 'imeiflow_calendar_covered_until_timestamp_seconds';
    const complete = { complete: true, daysOff: {}, workingDays: {} };
    const thisYear = new Date(Date.now() + 5 * 3_600_000).getUTCFullYear();
    metrics.register(
      calendarGauges(
        { years: { [thisYear]: complete, [thisYear + 1]: { ...complete, complete: false } } },
        300,
      ),
    );
    // 1 January of next year, 00:00 in Astana.
    expect(gauge(await metrics.registry.metrics(), name)).toBe(
      Date.UTC(thisYear + 1, 0, 1) / 1000 - 5 * 3600,
    );
  });

  it("KGD's monthly export: the last month loaded and the month due by now, comparable", async () => {
    const exportStore = openStore({ dataDir: join(tempDir(), 'metrics-exports') });
    try {
      const metrics = new Metrics({ defaultMetrics: false });
      metrics.register(gaugesOf(STORE_GAUGES, exportStore));
      metrics.register(calendarGauges({ years: {} }, 300));
      const last = 'imeiflow_kgd_export_last_month_timestamp_seconds';
      const expected = 'imeiflow_kgd_export_expected_month_timestamp_seconds';
      // Nothing loaded: 0, below any month, so the alert fires once a month is due.
      let text = await metrics.registry.metrics();
      expect(gauge(text, last)).toBe(0);
      const due = dueExportMonth(new Date(), 300);
      expect(gauge(text, expected)).toBe(monthTimestamp(due).getTime() / 1000);
      const record = (month: string) => ({
        month,
        monthFrom: 'decisions' as const,
        file: `kgd-${month}.xlsx`,
        rows: 10,
        loadedAt: new Date().toISOString(),
        actor: 'kgd.loader',
      });
      // The latest month counts, whatever order the loads came in.
      await putKgdExport(exportStore, record(due));
      await putKgdExport(exportStore, record(addMonths(due, -3)));
      text = await metrics.registry.metrics();
      expect(gauge(text, last)).toBe(gauge(text, expected));
      expect(gauge(text, last)).toBe(Date.UTC(Number(due.slice(0, 4)), Number(due.slice(5)) - 1, 1) / 1000);
    } finally {
      await exportStore.close();
    }
  });

  it('per stage: the oldest waiting request and those past their deadline', async () => {
    const stageStore = openStore({ dataDir: join(tempDir(), 'metrics-stages') });
    try {
      const hour = 3_600_000;
      const now = Date.now();
      const iso = (ms: number) => new Date(ms).toISOString();
      const entry = (
        i: number,
        stage: 'awaiting_kgd' | 'review',
        sinceMs: number,
        deadline: string | null,
      ) => ({
        ...waitingEntry(i, 0, stage, deadline),
        since: iso(sinceMs),
      });
      await stageStore.env.transaction(() => {
        // Waiting for KGD: one due in an hour, one 2 h past its deadline (the timer has not moved it yet).
        stageStore.pending.put('10000000000001', [entry(1, 'awaiting_kgd', now - 5 * hour, iso(now + hour))]);
        stageStore.pending.put('10000000000002', [
          entry(2, 'awaiting_kgd', now - 30 * hour, iso(now - 2 * hour)),
        ]);
        // In review: one due in 3 h, one 3 h overdue, one of an earlier build (no deadline) waiting
        // for 10 days, whose deadline counts from `since` and has long passed; one in partition 1.
        stageStore.pending.put('10000000000003', [
          entry(3, 'review', now - 20 * hour, iso(now + 3 * hour)),
          entry(4, 'review', now - 40 * hour, iso(now - 3 * hour)),
        ]);
        stageStore.pending.put('10000000000005', [entry(5, 'review', now - 240 * hour, null)]);
        stageStore.pending.put('10000000000006', [
          { ...entry(6, 'review', now - 500 * hour, null), partition: 1 },
        ]);
      });
      const metrics = new Metrics({ defaultMetrics: false });
      metrics.register(
        waitingGauges(stageStore, [0], {
          workingDays: 1,
          reviewMinimumMinutes: 0,
          calendar: { utcOffsetMinutes: 300, holidays: new Set() },
        }),
      );
      const text = await metrics.registry.metrics();
      const of = (name: string, stage: string) => gauge(text, `imeiflow_${name}{stage="${stage}"}`);
      expect(of('waiting_oldest_age_seconds', 'awaiting_kgd')).toBeCloseTo(30 * 3600, -1);
      expect(of('waiting_oldest_age_seconds', 'review')).toBeCloseTo(240 * 3600, -1);
      expect(of('waiting_past_deadline', 'awaiting_kgd')).toBe(1);
      expect(of('waiting_past_deadline', 'review')).toBe(2);
      expect(of('waiting_most_overdue_seconds', 'awaiting_kgd')).toBeCloseTo(2 * 3600, -1);
      // The earlier build's entry: at least 10 days − 1 working day (+ a weekend at most) overdue.
      expect(of('waiting_most_overdue_seconds', 'review')).toBeGreaterThan(5 * 24 * 3600);
    } finally {
      await stageStore.close();
    }
  });
});
