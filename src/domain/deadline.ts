/**
 * The deadlines of a waiting request, one per stage (seed 000 §10):
 *
 * - `awaiting_kgd`: KGD has `workingDays` working days from when the request started waiting;
 *   then the request goes to a reviewer (rule 7).
 * - `review`: "after receiving the request for confirmation, the employee confirms or rejects it
 *   within one working day" — so a reviewer's clock starts when the request **entered review**:
 *   at once for an owner conflict, and for a request KGD did not answer at the moment its KGD
 *   deadline passed (not when the deadline timer noticed, so a slow sweep does not lengthen it).
 *
 * A stage's deadline is fixed when the request enters the stage and does not restart while it
 * stays there. Stored entries carry it (`PendingEntry.deadline`); review entries written by builds
 * before this one carry null and are read with `stageDeadline`'s conservative fallback.
 */
import { addWorkingDays, type WorkingCalendar } from './working-day.js';

export interface DeadlinePolicy {
  /** Working days each stage allows (config `pending.deadlineWorkingDays`). */
  readonly workingDays: number;
  readonly calendar: WorkingCalendar;
}

export type WaitingStage = 'awaiting_kgd' | 'review';

/** The clock fields of a stored waiting request (`PendingEntry`). */
export interface WaitingClock {
  readonly stage: WaitingStage;
  /** When the request started waiting (ISO, UTC). */
  readonly since: string;
  /** When its stage's deadline passes (ISO, UTC); null only in review entries of earlier builds. */
  readonly deadline: string | null;
}

/**
 * The deadline to store for a request that waits in `stage` as of `at`, given what was stored for
 * it before (undefined: it was not waiting).
 */
export function waitingDeadline(
  stage: WaitingStage,
  at: Date,
  previous: WaitingClock | undefined,
  policy: DeadlinePolicy,
): string {
  if (previous !== undefined && previous.stage === stage) return stageDeadline(previous, policy);
  let entered = at;
  if (stage === 'review' && previous?.stage === 'awaiting_kgd') {
    // It has been the reviewers' since its KGD deadline passed, whenever that was noticed.
    const due = new Date(stageDeadline(previous, policy));
    if (due < at) entered = due;
  }
  return addWorkingDays(entered, policy.workingDays, policy.calendar).toISOString();
}

/**
 * The deadline of a stored waiting request. A review entry of an earlier build (null) counts
 * from when the request started waiting, which is no later than when it entered review: it may
 * be reported overdue early, never late.
 */
export function stageDeadline(entry: WaitingClock, policy: DeadlinePolicy): string {
  if (entry.deadline !== null) return entry.deadline;
  return addWorkingDays(new Date(entry.since), policy.workingDays, policy.calendar).toISOString();
}
