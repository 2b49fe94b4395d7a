/**
 * The retention sweep: destroys what each kind of data's retention (config `retention`) or a
 * purge says must go, on this instance, in steps of `chunk` entries with the event loop free
 * between them (src/store/range-steps.ts), so the pipeline never waits on it.
 *
 * What it changes itself is this instance's own derived state, the same way on every instance:
 * final outcomes (reduced after `requestsDays`, deleted after `outcomesDays` or a purge), the
 * declaration index (an application `declarationsDays` after KGD's latest decision on it), the
 * online audit store (`auditDays`) and the purge marks. Partition-local state — the registry and
 * waiting requests, with their changelogs and БДИК topics — belongs to the partition's owner:
 * for a purge the sweep only sends the owner a `purge` command, decided with the journal like
 * every other change (src/domain/commands.ts). Without a cluster (the CLI on a stopped
 * service, whose embedded Kafka is gone) it changes that state in the store directly.
 */
import type { RetentionConfig } from '../config/config.js';
import { type Command, purgeMarksOfCommand } from '../domain/commands.js';
import {
  DAY_MS,
  DESTROYED_KINDS,
  type DestroyedKind,
  isReduced,
  outcomePurged,
  type PurgeMarks,
  pendingPurged,
  reducedOutcome,
  registryPurged,
} from '../domain/retention.js';
import type { OutcomeRecord, PendingEntry } from '../domain/types.js';
import type { Logger } from '../log.js';
import type { CommandSender } from '../pipeline/command-sender.js';
import type { Component } from '../runtime/component.js';
import { removeApplicationStep } from '../store/declarations.js';
import { putPending } from '../store/pending-index.js';
import {
  erasedSince,
  type PurgeMarkIndex,
  purgeMarksOf,
  readPurgeMarks,
  type StoredMark,
} from '../store/purge-marks.js';
import { RANGE_STEP_CHUNK, rangeSteps } from '../store/range-steps.js';
import { SealedWrites } from '../store/sealed-writes.js';
import { allOrNothing, type Store } from '../store/store.js';

export type DestroyedCounts = Record<DestroyedKind, number>;

export function noneDestroyed(): DestroyedCounts {
  return Object.fromEntries(DESTROYED_KINDS.map((k) => [k, 0])) as DestroyedCounts;
}

export interface RetentionSweepDeps {
  readonly store: Store;
  readonly retention: RetentionConfig;
  /** Purge commands to the owners of devices; absent: no cluster, the store is changed directly. */
  readonly commands?: CommandSender;
  /** Partitions this instance owns: it sends purge commands only for their devices. */
  readonly ownedPartitions: () => readonly number[];
  readonly destroyed: (kind: DestroyedKind, count: number) => void;
  readonly log: Logger;
  /** The marks the declarations table consults, kept current when marks expire. */
  readonly marks?: PurgeMarkIndex;
  /** Entries per step. */
  readonly chunk?: number;
}

export interface SweepReport {
  readonly destroyed: DestroyedCounts;
  /** Purge commands sent to partition owners. */
  readonly commands: number;
}

/** LMDB meta key: when an application KGD gave no decision time was first seen. */
const undatedKey = (applicationId: string): string => `retention/undated/${applicationId}`;

/** A purge command sent for the same data is not sent again this soon (it is on its way). */
const RESEND_AFTER_MS = 60_000;

/** LMDB meta key: the subject keys destroyed when the sweep last looked for what they erased. */
const ERASURES_SWEPT = 'retention/erasures-swept';

/** A device's purge, or (`erasedOnly`) the removal of what a destroyed key left unreadable. */
function purgeCommand(body: string, erasedOnly: boolean, orderedAt: number): Command {
  return {
    type: 'purge',
    body,
    ...(erasedOnly ? { erased: true as const } : {}),
    issuedAt: new Date(orderedAt).toISOString(),
  };
}

export class RetentionSweep implements Component {
  readonly name = 'retention sweep';
  readonly #deps: RetentionSweepDeps;
  readonly #chunk: number;
  readonly #sent = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopping = false;

  constructor(deps: RetentionSweepDeps) {
    this.#deps = deps;
    this.#chunk = deps.chunk ?? RANGE_STEP_CHUNK;
  }

  /** Sweep every `retention.sweepIntervalMs`, and once now. */
  start(): void {
    this.#timer = setInterval(() => void this.requestPass(), this.#deps.retention.sweepIntervalMs);
    this.#timer.unref();
    void this.requestPass();
  }

  /**
   * Run a pass now, or right after the one running (a purge that arrives mid-pass is not
   * missed). Resolves when that pass is over; a failed pass is logged, not thrown.
   */
  requestPass(): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.pass();
        } catch (error) {
          this.#deps.log.error({ err: error }, 'retention sweep failed; the next one tries again');
        }
      } while (this.#again && !this.#stopping);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** One pass over everything retention or a purge may destroy. */
  async pass(now = new Date()): Promise<SweepReport> {
    const { store, retention } = this.#deps;
    const nowMs = now.getTime();
    const destroyed = noneDestroyed();
    const marks = await readPurgeMarks(store);
    // Device and owner purges reach data recorded before them for as long as it may still
    // arrive: a replay of input, or a partition's state restored, within the input's retention.
    const since = nowMs - retention.requestsDays * DAY_MS;
    const recent = purgeMarksOf(marks, since);
    // Keys destroyed since the last look, by a recent purge or by an old one this instance missed.
    const erased =
      erasedSince(marks, since) || store.subjects.erasures > (store.meta.get(ERASURES_SWEPT) ?? 0);
    await this.#outcomes(nowMs, recent, destroyed);
    await this.#declarations(nowMs, destroyed);
    await this.#audit(nowMs, destroyed);
    const commands = await this.#partitionLocal(recent, erased, destroyed);
    await this.#expireMarks(marks, nowMs);
    for (const kind of DESTROYED_KINDS) if (destroyed[kind] > 0) this.#deps.destroyed(kind, destroyed[kind]);
    if (commands > 0 || DESTROYED_KINDS.some((k) => destroyed[k] > 0))
      this.#deps.log.info({ destroyed, commands }, 'retention sweep');
    return { destroyed, commands };
  }

  /**
   * Every step of an expired application's removal, chunk by chunk. `expired` is asked again
   * before each step: a decision KGD sends meanwhile makes the application current again.
   */
  async #removeApplication(
    applicationId: string,
    expired: () => boolean = () => true,
  ): Promise<{ declarations: number; done: boolean }> {
    const { store } = this.#deps;
    let declarations = 0;
    for (;;) {
      const step = { removed: 0, done: false, taken: false };
      await store.env.transaction(() => {
        if (!expired()) return;
        Object.assign(step, removeApplicationStep(store, applicationId, this.#chunk), { taken: true });
        if (step.done) store.meta.remove(undatedKey(applicationId));
      });
      declarations += step.removed;
      if (step.done || !step.taken || this.#stopping) return { declarations, done: step.done };
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#running;
  }

  // ── the kinds of data ───────────────────────────────────────────────────────────────────

  async #outcomes(nowMs: number, marks: PurgeMarks, destroyed: DestroyedCounts): Promise<void> {
    const { store, retention } = this.#deps;
    const deleteBefore = nowMs - retention.outcomesDays * DAY_MS;
    const reduceBefore = nowMs - retention.requestsDays * DAY_MS;
    for await (const step of rangeSteps(store, store.outcomes, { chunk: this.#chunk })) {
      const removals: string[] = [];
      const reductions: [string, OutcomeRecord][] = [];
      for (const { key, value } of step) {
        const at = Date.parse(value.at);
        if (at < deleteBefore || outcomePurged(value, marks)) removals.push(key);
        else if (at < reduceBefore && !isReduced(value)) reductions.push([key, reducedOutcome(value)]);
      }
      if (removals.length + reductions.length > 0) {
        await store.env.transaction(() => {
          for (const key of removals) store.outcomes.remove(key);
          for (const [key, record] of reductions) store.outcomes.put(key, record);
        });
        destroyed.outcome += removals.length;
        destroyed.outcome_personal += reductions.length;
      }
      if (this.#stopping) return;
    }
  }

  async #declarations(nowMs: number, destroyed: DestroyedCounts): Promise<void> {
    const { store, retention } = this.#deps;
    const before = nowMs - retention.declarationsDays * DAY_MS;
    const expired: string[] = [];
    for await (const step of rangeSteps(store, store.applications, { chunk: this.#chunk })) {
      const undated: string[] = [];
      for (const { key, value } of step) {
        // KGD may give no decision time: such an application is kept from when it was first seen.
        const decided =
          value.decidedAt === null ? store.meta.get(undatedKey(key)) : Date.parse(value.decidedAt);
        if (decided === undefined) undated.push(key);
        else if (decided < before) expired.push(key);
      }
      if (undated.length > 0)
        await store.env.transaction(() => {
          for (const key of undated) store.meta.put(undatedKey(key), nowMs);
        });
      if (this.#stopping) return;
    }
    for (const applicationId of expired) {
      const stillExpired = (): boolean => {
        const record = store.applications.get(applicationId);
        if (record === undefined) return true;
        const decided =
          record.decidedAt === null
            ? store.meta.get(undatedKey(applicationId))
            : Date.parse(record.decidedAt);
        return decided !== undefined && decided < before;
      };
      const { declarations, done } = await this.#removeApplication(applicationId, stillExpired);
      destroyed.declaration += declarations;
      if (done) destroyed.application++;
      if (this.#stopping) return;
    }
  }

  async #audit(nowMs: number, destroyed: DestroyedCounts): Promise<void> {
    const { store, retention } = this.#deps;
    // Keys start with the entry's ISO time, so every key before this one is older.
    const end = new Date(nowMs - retention.auditDays * DAY_MS).toISOString();
    for (;;) {
      store.env.resetReadTxn();
      const keys = [...store.audit.getKeys({ end, limit: this.#chunk })];
      if (keys.length === 0 || this.#stopping) return;
      await store.env.transaction(() => {
        for (const key of keys) store.audit.remove(key);
      });
      destroyed.audit += keys.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Registry entries and waiting requests a recent purge reaches that are still here: sent to
   * their owner as purge commands (or, without a cluster, removed here). Catches what the purge
   * itself could not see: state stored after it ran, or restored with a partition. After an owner's
   * purge (or any key destroyed since the last look) what it erased is looked for everywhere: the
   * owned partitions' registry and waiting requests through their owner, the views of the others'
   * (registry view, review table) removed here.
   */
  async #partitionLocal(marks: PurgeMarks, erased: boolean, destroyed: DestroyedCounts): Promise<number> {
    if (marks.imeis.size === 0 && !erased) return 0;
    const { store, commands } = this.#deps;
    const owned = commands === undefined ? undefined : new Set(this.#deps.ownedPartitions());
    const ours = (partition: number): boolean => owned === undefined || owned.has(partition);
    const due = new Map<string, Command>();
    const add = (body: string, erasedOnly: boolean, orderedAt: number): void => {
      // A device's purge reaches all it held before, what its destroyed keys erased included.
      if (erasedOnly && [...due.keys()].some((key) => key.startsWith(`${body}|false|`))) return;
      // An erased record's command is the same whenever it is sent: not again while on its way.
      const key = erasedOnly ? `${body}|true|erased` : `${body}|false|${orderedAt}`;
      due.set(key, purgeCommand(body, erasedOnly, orderedAt));
    };
    store.env.resetReadTxn();
    for (const [body, orderedAt] of marks.imeis) {
      const entry = store.registry.get(body);
      const waiting = store.pending.get(body) ?? [];
      if (entry !== undefined && ours(entry.partition) && registryPurged(body, entry, marks))
        add(body, false, orderedAt);
      if (waiting.some((e) => ours(e.partition) && pendingPurged(body, e, marks)))
        add(body, false, orderedAt);
    }
    if (erased) {
      const erasures = store.subjects.erasures;
      const now = Date.now();
      for await (const step of rangeSteps(store, store.registry, { chunk: this.#chunk })) {
        for (const { key, value } of step)
          if (value.erased === true && ours(value.partition)) add(key, true, now);
        if (this.#stopping) return 0;
      }
      for await (const step of rangeSteps(store, store.pending, { chunk: this.#chunk })) {
        for (const { key, value } of step)
          if (value.some((e) => e.erased === true && ours(e.partition))) add(key, true, now);
        if (this.#stopping) return 0;
      }
      await this.#dropErasedViews();
      if (!this.#stopping) await store.meta.put(ERASURES_SWEPT, erasures);
    }
    if (due.size === 0) return 0;
    if (commands === undefined) {
      await this.#purgeHere([...due.values()], destroyed);
      return 0;
    }
    const now = Date.now();
    for (const [key, at] of this.#sent) if (now - at > RESEND_AFTER_MS) this.#sent.delete(key);
    const send = [...due].filter(([key]) => !this.#sent.has(key));
    if (send.length === 0) return 0;
    await commands.send(send.map(([, command]) => command));
    for (const [key] of send) this.#sent.set(key, now);
    return send.length;
  }

  /**
   * The registry view and the review table hold what other instances' partitions hold: what a
   * destroyed key left of them is removed here (their owners' tombstones follow).
   */
  async #dropErasedViews(): Promise<void> {
    const { store } = this.#deps;
    for await (const step of rangeSteps(store, store.registryView, { chunk: this.#chunk })) {
      const erased = step.filter(({ value }) => value.entry?.erased === true);
      if (erased.length > 0)
        await allOrNothing(store, () => {
          const writes = new SealedWrites(store);
          for (const { key, value } of erased) writes.view(key, value.order, null);
        });
      if (this.#stopping) return;
    }
    for await (const step of rangeSteps(store, store.reviews, { chunk: this.#chunk })) {
      const erased = step.filter(({ value }) => value.some((e) => e.erased === true));
      if (erased.length > 0)
        await allOrNothing(store, () => {
          const writes = new SealedWrites(store);
          for (const { key, value } of erased)
            writes.reviews(
              key,
              value.filter((e) => e.erased !== true),
            );
          writes.flush();
        });
      if (this.#stopping) return;
    }
  }

  /** Without a cluster: the purge commands' effect on this store, with no Kafka to tell. */
  async #purgeHere(due: readonly Command[], destroyed: DestroyedCounts): Promise<void> {
    const { store } = this.#deps;
    await allOrNothing(store, () => {
      const writes = new SealedWrites(store);
      for (const command of due) {
        if (command.type !== 'purge') continue;
        const { body } = command;
        const marks = purgeMarksOfCommand(command);
        const entry = store.registry.get(body);
        if (entry !== undefined && registryPurged(body, entry, marks)) {
          store.registry.remove(body);
          destroyed.registry++;
        }
        const keep = (entries: readonly PendingEntry[]) =>
          entries.filter((e) => !pendingPurged(body, e, marks));
        const waiting = store.pending.get(body) ?? [];
        const left = keep(waiting);
        if (left.length < waiting.length) {
          putPending(store, body, left, writes);
          destroyed.pending += waiting.length - left.length;
        }
        const reviews = store.reviews.get(body) ?? [];
        const shown = keep(reviews);
        if (shown.length < reviews.length) writes.reviews(body, shown);
      }
      writes.flush();
    });
  }

  /** Marks outlive what they protect against: a device's or application's the decisions topic. */
  async #expireMarks(marks: readonly StoredMark[], nowMs: number): Promise<void> {
    const { store, retention } = this.#deps;
    const expired = marks.filter((mark) => {
      const days = mark.kind === 'iin' ? retention.requestsDays : retention.declarationsDays;
      return mark.orderedAt < nowMs - days * DAY_MS;
    });
    if (expired.length === 0) return;
    await store.env.transaction(() => {
      for (const mark of expired) store.meta.remove(mark.key);
    });
    for (const mark of expired) this.#deps.marks?.remove(mark.kind, mark.id);
  }
}
