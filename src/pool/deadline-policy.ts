/**
 * The deadline policy the `pending` settings give (src/domain/deadline.ts): the calendar file's
 * years with the dates configuration adds, counted in its working hours. The workers build it
 * from the configuration they get; the main thread the same way (src/config/config.ts
 * `deadlinePolicy`).
 */
import type { WorkerConfig } from '../config/worker-settings.js';
import type { DeadlinePolicy } from '../domain/deadline.js';
import { workingCalendarOf } from '../domain/working-day.js';

export function deadlinePolicyOfPending(pending: WorkerConfig['pending']): DeadlinePolicy {
  return {
    workingDays: pending.deadlineWorkingDays,
    reviewMinimumMinutes: pending.reviewMinimumWorkingMinutes,
    calendar: workingCalendarOf(pending.calendar, pending, pending.utcOffsetMinutes),
  };
}
