/**
 * A waiting request's deadline (seed 000 §10): it is confirmed or rejected within one working day
 * of receipt, counted in working hours (src/domain/working-day.ts). That one deadline covers both
 * stages:
 *
 * - `awaiting_kgd`: KGD has until the deadline less the reviewer's minimum; then the request goes
 *   to a reviewer (rule 7).
 * - `review`: the reviewer has what is left of the deadline, and at least the minimum
 *   (`pending.reviewMinimumWorkingMinutes`) from when the request entered review — at once for an
 *   owner conflict, and for a request KGD did not answer at the moment its KGD stage ended (not
 *   when the deadline timer noticed, so a slow sweep does not lengthen it).
 *
 * A stage's deadline is fixed when the request enters the stage and does not restart while it
 * stays there. Stored entries carry it (`PendingEntry.deadline`); review entries written by builds
 * before deadlines were stored carry null and are read with `stageDeadline`'s conservative
 * fallback. Alerts, metrics, `GET /v1/reviews` and the review page all read `dueOf`.
 */
import {
  addWorkingDays,
  addWorkingMinutes,
  type CalendarData,
  type WorkingCalendar,
  workingCalendarOf,
  workingDayMinutes,
} from './working-day.js';

export interface DeadlinePolicy {
  /** The deadline from receipt, in working days (config `pending.deadlineWorkingDays`). */
  readonly workingDays: number;
  /** Working minutes a reviewer always gets (config `pending.reviewMinimumWorkingMinutes`). */
  readonly reviewMinimumMinutes: number;
  readonly calendar: WorkingCalendar;
}

/**
 * What the `pending` settings say of deadlines (src/config/settings.ts, read by the workers and the
 * main thread alike): the calendar file's years with the dates configuration adds, in its hours.
 */
export interface DeadlineSettings {
  readonly deadlineWorkingDays: number;
  readonly reviewMinimumWorkingMinutes: number;
  readonly utcOffsetMinutes: number;
  readonly calendar: CalendarData;
  readonly holidays: readonly string[];
  readonly workingDays: readonly string[];
}

/** The deadline policy the `pending` settings give; each thread builds its own from them. */
export function deadlinePolicyOf(pending: DeadlineSettings): DeadlinePolicy {
  return {
    workingDays: pending.deadlineWorkingDays,
    reviewMinimumMinutes: pending.reviewMinimumWorkingMinutes,
    calendar: workingCalendarOf(pending.calendar, pending, pending.utcOffsetMinutes),
  };
}

export type WaitingStage = 'awaiting_kgd' | 'review';

/** The clock fields of a stored waiting request (`PendingEntry`). */
export interface WaitingClock {
  readonly stage: WaitingStage;
  /** When the request was received (ISO, UTC). */
  readonly since: string;
  /** When its stage's deadline passes (ISO, UTC); null only in review entries of earlier builds. */
  readonly deadline: string | null;
}

/** The request's deadline, end to end: `workingDays` working days after it was received. */
export function requestDeadline(since: Date, policy: DeadlinePolicy): Date {
  return addWorkingDays(since, policy.workingDays, policy.calendar);
}

/** When waiting for KGD ends: the deadline less the reviewer's minimum, never before receipt. */
export function kgdDeadline(since: Date, policy: DeadlinePolicy): Date {
  const minutes = policy.workingDays * workingDayMinutes(policy.calendar) - policy.reviewMinimumMinutes;
  return addWorkingMinutes(since, Math.max(0, minutes), policy.calendar);
}

/** A reviewer's deadline for a request that entered review at `entered`: what is left, at least the minimum. */
function reviewDeadline(since: Date, entered: Date, policy: DeadlinePolicy): Date {
  const due = requestDeadline(since, policy);
  const minimum = addWorkingMinutes(entered, policy.reviewMinimumMinutes, policy.calendar);
  return new Date(Math.max(minimum.getTime(), due.getTime()));
}

/**
 * The deadline to store for a request that waits in `stage` as of `at`, received at `since`,
 * given what was stored for it before (undefined: it was not waiting).
 */
export function waitingDeadline(
  stage: WaitingStage,
  since: Date,
  at: Date,
  previous: WaitingClock | undefined,
  policy: DeadlinePolicy,
): string {
  if (previous !== undefined && previous.stage === stage) return stageDeadline(previous, policy);
  if (stage === 'awaiting_kgd') return kgdDeadline(since, policy).toISOString();
  let entered = at;
  if (previous?.stage === 'awaiting_kgd') {
    // It has been the reviewers' since its KGD stage ended, whenever that was noticed.
    const ended = new Date(stageDeadline(previous, policy));
    if (ended < at) entered = ended;
  }
  return reviewDeadline(since, entered, policy).toISOString();
}

/**
 * The deadline of a stored waiting request's stage. A review entry of an earlier build (null)
 * counts from when the request was received, which is no later than when it entered review: it
 * may be reported overdue early, never late.
 */
export function stageDeadline(entry: WaitingClock, policy: DeadlinePolicy): string {
  if (entry.deadline !== null) return entry.deadline;
  return requestDeadline(new Date(entry.since), policy).toISOString();
}

/**
 * When a waiting request is due, whatever its stage: the reviewer's deadline in review; while it
 * waits for KGD, the end of its KGD stage plus the reviewer's minimum. What users are shown.
 */
export function dueOf(entry: WaitingClock, policy: DeadlinePolicy): string {
  const deadline = stageDeadline(entry, policy);
  if (entry.stage === 'review') return deadline;
  return addWorkingMinutes(new Date(deadline), policy.reviewMinimumMinutes, policy.calendar).toISOString();
}
