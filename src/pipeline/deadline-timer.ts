/**
 * Rule 7's deadline: a request that has waited for KGD past its deadline (one working day, Astana
 * time) goes to review. The timer only notices; the change itself is a `deadline` command decided
 * by the partition's owner with the journal, so it happens exactly once even if two instances
 * notice (a command is idempotent).
 */

import type { Command } from '../domain/commands.js';
import type { Logger } from '../log.js';
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
}

/** How long a sent deadline command is not sent again for the same request. */
const RESEND_AFTER_MS = 60_000;

export class DeadlineTimer {
  readonly #deps: DeadlineTimerDeps;
  readonly #sent = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: DeadlineTimerDeps) {
    this.#deps = deps;
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
