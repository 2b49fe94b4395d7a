import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, workingCalendar } from '../../src/config/config.js';
import { applyCommand } from '../../src/domain/commands.js';
import { type DeadlinePolicy, stageDeadline, waitingDeadline } from '../../src/domain/deadline.js';
import { toLocalIso } from '../../src/domain/working-day.js';
import { BatchWriter } from '../../src/pool/batch-writer.js';
import { openStore } from '../../src/store/store.js';
import { waitingEntry } from '../support/fixtures.js';
import { MapIndexView } from '../support/map-view.js';
import { tempDir } from '../support/tmp.js';

const policy: DeadlinePolicy = { workingDays: 1, calendar: workingCalendar(loadConfig({ env: {} })) };
const astana = (iso: string) => toLocalIso(new Date(iso), 300);
const at = (iso: string) => new Date(iso);

describe('waitingDeadline: one working day per stage', () => {
  it('KGD has one working day from when the request started waiting', () => {
    expect(astana(waitingDeadline('awaiting_kgd', at('2026-11-27T15:00:00+05:00'), undefined, policy))).toBe(
      '2026-11-30T15:00:00+05:00',
    );
  });

  it('a reviewer has one working day from when the KGD deadline passed, not from when the timer noticed', () => {
    const waiting = {
      stage: 'awaiting_kgd',
      since: '2026-11-27T10:00:00.000Z',
      deadline: '2026-11-30T10:00:00.000Z',
    } as const;
    // The sweep noticed 7 minutes late, on Monday: the reviewer's day still runs to Tuesday 15:00 Astana.
    expect(astana(waitingDeadline('review', at('2026-11-30T10:07:00Z'), waiting, policy))).toBe(
      '2026-12-01T15:00:00+05:00',
    );
  });

  it('a request sent to review before its KGD deadline (an owner conflict) counts from then', () => {
    const waiting = {
      stage: 'awaiting_kgd',
      since: '2026-11-27T10:00:00.000Z',
      deadline: '2026-11-30T10:00:00.000Z',
    } as const;
    expect(astana(waitingDeadline('review', at('2026-11-27T12:00:00Z'), waiting, policy))).toBe(
      '2026-11-30T17:00:00+05:00',
    );
  });

  it("a reviewer's day skips Independence Day (16 December 2026)", () => {
    const waiting = {
      stage: 'awaiting_kgd',
      since: '2026-12-14T05:00:00.000Z',
      deadline: '2026-12-15T05:00:00.000Z',
    } as const;
    expect(astana(waitingDeadline('review', at('2026-12-15T05:01:00Z'), waiting, policy))).toBe(
      '2026-12-17T10:00:00+05:00',
    );
  });

  it('a stage keeps its deadline while the request stays in it', () => {
    const review = {
      stage: 'review',
      since: '2026-11-27T10:00:00.000Z',
      deadline: '2026-12-01T10:00:00.000Z',
    } as const;
    expect(waitingDeadline('review', at('2026-12-01T09:00:00Z'), review, policy)).toBe(
      '2026-12-01T10:00:00.000Z',
    );
    const waiting = { ...review, stage: 'awaiting_kgd' } as const;
    expect(waitingDeadline('awaiting_kgd', at('2026-11-30T09:00:00Z'), waiting, policy)).toBe(
      '2026-12-01T10:00:00.000Z',
    );
  });

  it('a review entry of an earlier build (no deadline) counts from when the request started waiting', () => {
    const old = { stage: 'review', since: '2026-11-27T10:00:00.000Z', deadline: null } as const;
    expect(astana(stageDeadline(old, policy))).toBe('2026-11-30T15:00:00+05:00');
    expect(waitingDeadline('review', at('2026-12-02T00:00:00Z'), old, policy)).toBe(
      stageDeadline(old, policy),
    );
  });
});

describe('the pipeline stores the review deadline', () => {
  const store = openStore({ dataDir: join(tempDir(), 'deadline') });
  afterAll(() => store.close());

  it('a deadline command moves the request to review with the reviewer’s deadline', async () => {
    const body = '35209900176148';
    // Waiting for KGD until Monday 30 November 15:00 Astana.
    const waiting = {
      ...waitingEntry(1, 0, 'awaiting_kgd', '2026-11-30T10:00:00.000Z'),
      since: '2026-11-27T10:00:00.000Z',
    };
    await store.pending.put(body, [waiting]);
    const effects = new BatchWriter(
      new MapIndexView(),
      {
        pending: (b) => store.pending.get(b),
        registered: (b) => store.registry.get(b),
        outcome: (id) => store.outcomes.get(id),
      },
      0,
      at('2026-11-30T10:05:00Z'),
      { eligibleProcedures: new Set(['40']) },
      policy,
    );
    applyCommand({ type: 'deadline', body, requestId: 'r-1', issuedAt: '2026-11-30T10:04:00.000Z' }, effects);
    const [entry] = effects.pendingOf(body);
    expect(entry).toMatchObject({
      stage: 'review',
      reason: 'kgd_timeout',
      since: '2026-11-27T10:00:00.000Z',
    });
    expect(astana(entry!.deadline!)).toBe('2026-12-01T15:00:00+05:00');
  });
});
