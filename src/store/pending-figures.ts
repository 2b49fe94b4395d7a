/**
 * What the waiting requests of this instance's partitions look like now, for the metrics: how
 * many wait for KGD and for a reviewer, and per stage the oldest and those past their deadline.
 * Counting them scans the pending store (src/store/pending-scan.ts), so a scan is shared by
 * everyone who asks while it runs, and one starts at most every few seconds.
 */
import { type DeadlinePolicy, stageDeadline, type WaitingStage } from '../domain/deadline.js';
import { scanPending } from './pending-scan.js';
import type { Store } from './store.js';

/** What one scan finds about the waiting requests of one stage. */
export interface StageFigures {
  /** When the oldest waiting request started waiting (ms since epoch); null: none waits. */
  readonly oldestSinceMs: number | null;
  /** Requests past their stage's deadline at the scan. */
  readonly pastDeadline: number;
  /** How far past its deadline the most overdue request was at the scan (seconds; 0: none). */
  readonly mostOverdueSeconds: number;
}

export interface PendingFigures {
  /** Waiting for KGD. */
  readonly awaiting: number;
  /** Waiting for a reviewer. */
  readonly review: number;
  readonly stages: Readonly<Record<WaitingStage, StageFigures>>;
}

export const WAITING_STAGES: readonly WaitingStage[] = ['awaiting_kgd', 'review'];

/** Counting waiting requests scans the pending store: at most this often. */
export const PENDING_SCAN_INTERVAL_MS = 5_000;

const NO_FIGURES: StageFigures = { oldestSinceMs: null, pastDeadline: 0, mostOverdueSeconds: 0 };

export interface PendingFiguresDeps {
  readonly store: Store;
  /** Only these partitions' requests count (others are their owners' to report). */
  readonly ownedPartitions: () => readonly number[];
  /** For entries of earlier builds, stored without a deadline (src/domain/deadline.ts). */
  readonly deadlines?: DeadlinePolicy;
}

interface Tally {
  oldestSinceMs: number;
  pastDeadline: number;
  mostOverdueMs: number;
}

export class PendingFiguresReader {
  readonly #deps: PendingFiguresDeps;
  #figures: PendingFigures = {
    awaiting: 0,
    review: 0,
    stages: { awaiting_kgd: NO_FIGURES, review: NO_FIGURES },
  };
  #scannedAt = 0;
  #scan: Promise<PendingFigures> | undefined;

  constructor(deps: PendingFiguresDeps) {
    this.#deps = deps;
  }

  /** The figures of the running scan, or of the last one while it is recent; else a new scan's. */
  now(): Promise<PendingFigures> {
    const now = Date.now();
    if (this.#scan === undefined && now - this.#scannedAt >= PENDING_SCAN_INTERVAL_MS) {
      this.#scannedAt = now;
      this.#scan = this.#count().finally(() => {
        this.#scan = undefined;
      });
    }
    return this.#scan ?? Promise.resolve(this.#figures);
  }

  async #count(): Promise<PendingFigures> {
    const mine = new Set(this.#deps.ownedPartitions());
    const policy = this.#deps.deadlines;
    const counts = { awaiting: 0, review: 0 };
    const tally = (): Tally => ({
      oldestSinceMs: Number.POSITIVE_INFINITY,
      pastDeadline: 0,
      mostOverdueMs: 0,
    });
    const stages = { awaiting_kgd: tally(), review: tally() };
    const now = Date.now();
    for await (const [, entries] of scanPending(this.#deps.store)) {
      for (const entry of entries) {
        if (!mine.has(entry.partition)) continue;
        if (entry.stage === 'review') counts.review++;
        else counts.awaiting++;
        const figures = stages[entry.stage];
        figures.oldestSinceMs = Math.min(figures.oldestSinceMs, Date.parse(entry.since));
        const deadline = entry.deadline ?? (policy === undefined ? null : stageDeadline(entry, policy));
        const overdueMs = deadline === null ? 0 : now - Date.parse(deadline);
        if (overdueMs > 0) {
          figures.pastDeadline++;
          figures.mostOverdueMs = Math.max(figures.mostOverdueMs, overdueMs);
        }
      }
    }
    const figuresOf = (t: Tally): StageFigures => ({
      oldestSinceMs: Number.isFinite(t.oldestSinceMs) ? t.oldestSinceMs : null,
      pastDeadline: t.pastDeadline,
      mostOverdueSeconds: t.mostOverdueMs / 1000,
    });
    this.#figures = {
      ...counts,
      stages: { awaiting_kgd: figuresOf(stages.awaiting_kgd), review: figuresOf(stages.review) },
    };
    return this.#figures;
  }
}
