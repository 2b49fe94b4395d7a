import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deadlinePolicy, loadConfig } from '../../src/config/config.js';
import { applyCommand } from '../../src/domain/commands.js';
import {
  type DeadlinePolicy,
  dueOf,
  requestDeadline,
  stageDeadline,
  waitingDeadline,
} from '../../src/domain/deadline.js';
import { toLocalIso } from '../../src/domain/working-day.js';
import { BatchWriter } from '../../src/pool/batch-writer.js';
import { openStore } from '../../src/store/store.js';
import { waitingEntry } from '../support/fixtures.js';
import { MapIndexView } from '../support/map-view.js';
import { tempDir } from '../support/tmp.js';

/** The shipped policy: one working day of 09:00–19:00, a reviewer's minimum of two working hours. */
const policy: DeadlinePolicy = deadlinePolicy(loadConfig({ env: {} }));
const astana = (iso: string) => toLocalIso(new Date(iso), 300);
const at = (iso: string) => new Date(iso);

describe('one working day from receipt, in working hours, across both stages', () => {
  it('a request received Friday 15:00 is due Monday 15:00; KGD has until 13:00, the reviewer the rest', () => {
    const since = at('2026-11-27T15:00:00+05:00');
    expect(astana(requestDeadline(since, policy).toISOString())).toBe('2026-11-30T15:00:00+05:00');
    expect(astana(waitingDeadline('awaiting_kgd', since, since, undefined, policy))).toBe(
      '2026-11-30T13:00:00+05:00',
    );
  });

  it('18:30 on the Friday before a holiday (Victory Day moved to Monday 11 May 2026) is due 18:30 on Tuesday', () => {
    const since = at('2026-05-08T18:30:00+05:00');
    expect(astana(requestDeadline(since, policy).toISOString())).toBe('2026-05-12T18:30:00+05:00');
    const waiting = {
      stage: 'awaiting_kgd',
      since: since.toISOString(),
      deadline: waitingDeadline('awaiting_kgd', since, since, undefined, policy),
    } as const;
    expect(astana(waiting.deadline)).toBe('2026-05-12T16:30:00+05:00');
    expect(astana(dueOf(waiting, policy))).toBe('2026-05-12T18:30:00+05:00');
  });

  it('a filing after hours counts from the next working day: 20:00 Friday is due 19:00 Monday', () => {
    const since = at('2026-11-27T20:00:00+05:00');
    expect(astana(requestDeadline(since, policy).toISOString())).toBe('2026-11-30T19:00:00+05:00');
  });

  it('a reviewer gets what is left once the KGD stage ends, counted from when it ended, not when the timer noticed', () => {
    const since = at('2026-11-27T10:00:00+05:00');
    const waiting = {
      stage: 'awaiting_kgd',
      since: since.toISOString(),
      deadline: waitingDeadline('awaiting_kgd', since, since, undefined, policy),
    } as const;
    expect(astana(waiting.deadline)).toBe('2026-11-27T18:00:00+05:00');
    // The sweep noticed on Monday morning: the reviewer's deadline is still the request's, Monday 10:00.
    expect(astana(waitingDeadline('review', since, at('2026-11-30T09:07:00+05:00'), waiting, policy))).toBe(
      '2026-11-30T10:00:00+05:00',
    );
  });

  it('a reviewer always gets the minimum: an owner conflict found late still has two working hours', () => {
    const since = at('2026-11-27T10:00:00+05:00');
    // Entered review at 12:00 on Monday, after the request's deadline (Monday 10:00).
    expect(astana(waitingDeadline('review', since, at('2026-11-30T12:00:00+05:00'), undefined, policy))).toBe(
      '2026-11-30T14:00:00+05:00',
    );
  });

  it('an owner conflict at receipt has the whole working day', () => {
    const since = at('2026-11-27T12:00:00+05:00');
    expect(astana(waitingDeadline('review', since, since, undefined, policy))).toBe(
      '2026-11-30T12:00:00+05:00',
    );
  });

  it("a reviewer's time skips Independence Day (16 December 2026)", () => {
    const since = at('2026-12-15T10:00:00+05:00');
    expect(astana(requestDeadline(since, policy).toISOString())).toBe('2026-12-17T10:00:00+05:00');
  });

  it('zero working days: KGD is not waited for, and the reviewer still has the minimum', () => {
    const zero: DeadlinePolicy = { ...policy, workingDays: 0 };
    const since = at('2026-11-27T12:00:00+05:00');
    expect(waitingDeadline('awaiting_kgd', since, since, undefined, zero)).toBe(since.toISOString());
    expect(astana(waitingDeadline('review', since, since, undefined, zero))).toBe(
      '2026-11-27T14:00:00+05:00',
    );
  });

  it('a stage keeps its deadline while the request stays in it', () => {
    const review = {
      stage: 'review',
      since: '2026-11-27T10:00:00.000Z',
      deadline: '2026-12-01T10:00:00.000Z',
    } as const;
    const since = at(review.since);
    expect(waitingDeadline('review', since, at('2026-12-01T09:00:00Z'), review, policy)).toBe(
      '2026-12-01T10:00:00.000Z',
    );
    const waiting = { ...review, stage: 'awaiting_kgd' } as const;
    expect(waitingDeadline('awaiting_kgd', since, at('2026-11-30T09:00:00Z'), waiting, policy)).toBe(
      '2026-12-01T10:00:00.000Z',
    );
  });

  it('a review entry of an earlier build (no deadline) counts from receipt', () => {
    const old = { stage: 'review', since: '2026-11-27T10:00:00.000Z', deadline: null } as const;
    expect(astana(stageDeadline(old, policy))).toBe('2026-11-30T15:00:00+05:00');
    expect(waitingDeadline('review', at(old.since), at('2026-12-02T00:00:00Z'), old, policy)).toBe(
      stageDeadline(old, policy),
    );
  });
});

describe('the pipeline stores the review deadline', () => {
  const store = openStore({ dataDir: join(tempDir(), 'deadline') });
  afterAll(() => store.close());

  it('a deadline command moves the request to review with the reviewer’s deadline', async () => {
    const body = '35209900176148';
    // Received Friday 27 November 15:00 Astana; waiting for KGD until Monday 30 November 13:00.
    const waiting = {
      ...waitingEntry(1, 0, 'awaiting_kgd', '2026-11-30T08:00:00.000Z'),
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
      at('2026-11-30T08:05:00Z'),
      { eligibleProcedures: new Set(['40']) },
      policy,
    );
    applyCommand({ type: 'deadline', body, requestId: 'r-1', issuedAt: '2026-11-30T08:04:00.000Z' }, effects);
    const [entry] = effects.pendingOf(body);
    expect(entry).toMatchObject({
      stage: 'review',
      reason: 'kgd_timeout',
      since: '2026-11-27T10:00:00.000Z',
    });
    // The request's own deadline: one working day from receipt.
    expect(astana(entry!.deadline!)).toBe('2026-11-30T15:00:00+05:00');
  });
});
