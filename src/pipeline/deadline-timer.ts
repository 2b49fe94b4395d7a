/**
 * Rule 7's deadline: a request that has waited for KGD past its deadline (one working day, Astana
 * time) goes to review. The timer only notices; the change itself is a `deadline` command decided
 * by the partition's owner with the journal, so it happens exactly once even if two instances
 * notice (a command is idempotent).
 */

import type { Command } from '../domain/commands.js';
import type { DeadlinePolicy } from '../domain/deadline.js';
import type { Logger } from '../log.js';
import { type Component, type GaugeTable, gaugesOf } from '../runtime/component.js';
import {
  type PendingFigures,
  PendingFiguresReader,
  type StageFigures,
  WAITING_STAGES,
} from '../store/pending-figures.js';
import { scanPending } from '../store/pending-scan.js';
import type { PendingEntry } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { CommandSender } from './command-sender.js';

export interface DeadlineTimerDeps {
  readonly store: Store;
  readonly commands: CommandSender;
  readonly log: Logger;
  readonly intervalMs: number;
  /** Partitions this instance owns right now: others' entries are theirs to time out. */
  readonly ownedPartitions: () => readonly number[];
  /** Devices read per step of a sweep (scanPending); the pipeline runs between steps. */
  readonly chunk?: number;
  /** For the gauges: the deadlines of earlier builds' entries, stored without one. */
  readonly deadlines?: DeadlinePolicy;
}

/** One value per waiting stage, from the figures of a scan. */
async function perStage(
  timer: DeadlineTimer,
  pick: (figures: StageFigures, now: number) => number,
): Promise<Record<string, number>> {
  const { stages } = await timer.waiting();
  const now = Date.now();
  return Object.fromEntries(WAITING_STAGES.map((stage) => [stage, pick(stages[stage], now)]));
}

/** What the requests waiting in this instance's partitions look like (one scan serves all five). */
export const DEADLINE_TIMER_GAUGES: GaugeTable<DeadlineTimer> = [
  {
    name: 'pending_requests',
    help: 'Requests waiting for a KGD decision',
    read: async (timer) => (await timer.waiting()).awaiting,
  },
  {
    name: 'review_requests',
    help: 'Requests waiting for a reviewer',
    read: async (timer) => (await timer.waiting()).review,
  },
  {
    name: 'waiting_oldest_age_seconds',
    help: 'Age of the oldest waiting request of each stage, since it started waiting (0: none waits)',
    label: 'stage',
    read: (timer) =>
      perStage(timer, (f, now) =>
        f.oldestSinceMs === null ? 0 : Math.max(0, (now - f.oldestSinceMs) / 1000),
      ),
  },
  {
    name: 'waiting_past_deadline',
    help: "Waiting requests past their stage's deadline (one working day each: KGD's, then the reviewer's)",
    label: 'stage',
    read: (timer) => perStage(timer, (f) => f.pastDeadline),
  },
  {
    name: 'waiting_most_overdue_seconds',
    help: 'How far past its deadline the most overdue waiting request of each stage is (0: none)',
    label: 'stage',
    read: (timer) => perStage(timer, (f) => f.mostOverdueSeconds),
  },
];

/** How long a sent deadline command is not sent again for the same request. */
const RESEND_AFTER_MS = 60_000;

export class DeadlineTimer implements Component {
  readonly name = 'deadline timer';
  readonly gauges = gaugesOf(DEADLINE_TIMER_GAUGES, this);
  readonly #deps: DeadlineTimerDeps;
  readonly #sent = new Map<string, number>();
  readonly #figures: PendingFiguresReader;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: DeadlineTimerDeps) {
    this.#deps = deps;
    this.#figures = new PendingFiguresReader(deps);
  }

  /** The waiting requests of the owned partitions, as of a recent scan (for the gauges). */
  waiting(): Promise<PendingFigures> {
    return this.#figures.now();
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.sweep()
        .then(() => undefined)
        .catch((error: unknown) => this.#deps.log.error({ err: String(error) }, 'deadline sweep failed'))
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#deps.intervalMs);
    this.#timer.unref();
  }

  /** Send a deadline command for every owned request past its deadline. */
  async sweep(now = new Date()): Promise<number> {
    const owned = new Set(this.#deps.ownedPartitions());
    if (owned.size === 0) return 0;
    const nowMs = now.getTime();
    const due: Command[] = [];
    for await (const [body, entries] of scanPending(this.#deps.store, this.#deps.chunk)) {
      this.#collectDue(body, entries, owned, now, due);
    }
    for (const [requestId, at] of this.#sent) if (nowMs - at > RESEND_AFTER_MS) this.#sent.delete(requestId);
    if (due.length > 0) {
      await this.#deps.commands.send(due);
      this.#deps.log.info({ count: due.length }, 'deadline commands sent');
    }
    return due.length;
  }

  #collectDue(
    body: string,
    entries: readonly PendingEntry[],
    owned: ReadonlySet<number>,
    now: Date,
    due: Command[],
  ): void {
    const nowMs = now.getTime();
    for (const entry of entries) {
      if (entry.stage !== 'awaiting_kgd' || entry.deadline === null || !owned.has(entry.partition)) continue;
      if (Date.parse(entry.deadline) > nowMs) continue;
      const last = this.#sent.get(entry.request.requestId);
      if (last !== undefined && nowMs - last < RESEND_AFTER_MS) continue;
      this.#sent.set(entry.request.requestId, nowMs);
      due.push({ type: 'deadline', body, requestId: entry.request.requestId, issuedAt: now.toISOString() });
    }
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#running;
  }
}
