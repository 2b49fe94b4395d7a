/**
 * Turns one batch's verdicts into what the batch does: the output messages (in input order),
 * the final outcomes to remember, and the new state of every device whose pending list or
 * registry entry changed (as changelog records). Reads the current state from LMDB and layers
 * the batch's own changes over it, so later messages of the batch see earlier ones.
 */

import { waitingDeadline } from '../domain/deadline.js';
import { registryEntryOf } from '../domain/registry-entry.js';
import type {
  Decision,
  FinalDecision,
  IndexView,
  RegistryEntry,
  SourceId,
  VerifyRequest,
} from '../domain/types.js';
import type { WorkingCalendar } from '../domain/working-day.js';
import type { BatchResult } from '../pool/batch-contract.js';
import type { PendingEntry } from '../store/records.js';
import type { Store } from '../store/store.js';
import { encodeState, pendingKey, registryKey } from './changelog.js';
import {
  encodeOutcome,
  type JournalOutput,
  ROLE_CONFIRMATIONS,
  ROLE_DLQ,
  ROLE_PENDING_CHANGELOG,
  ROLE_REGISTRY_CHANGELOG,
  ROLE_RESULTS,
  ROLE_REVOCATIONS,
} from './journal.js';

export interface DeadlinePolicy {
  readonly workingDays: number;
  readonly calendar: WorkingCalendar;
}

export interface BatchOutcome {
  readonly outputs: JournalOutput[];
  readonly outcomes: [string, Uint8Array][];
  /** Devices that gained an awaiting_kgd entry: checked against the index once applied. */
  readonly newlyPending: string[];
  /** Devices whose registry entry changed. */
  readonly registryBodies: string[];
  readonly counts: OutcomeCounts;
}

/** Per outcome and reason, for metrics: counted per batch, not per message. */
export type OutcomeCounts = Map<string, number>;

function countKey(decision: Decision): string {
  return decision.outcome === 'confirmed'
    ? `confirmed:${decision.evidence}`
    : `${decision.outcome}:${decision.reason}`;
}

export class BatchEffects {
  readonly #store: Store;
  readonly #partition: number;
  readonly #at: Date;
  readonly #atIso: string;
  readonly #deadlines: DeadlinePolicy;
  readonly #outputs: JournalOutput[] = [];
  readonly #outcomes: [string, Uint8Array][] = [];
  readonly #pending = new Map<string, PendingEntry[]>();
  readonly #registry = new Map<string, RegistryEntry | null>();
  readonly #newlyPending = new Set<string>();
  readonly #counts: OutcomeCounts = new Map();

  constructor(store: Store, partition: number, at: Date, deadlines: DeadlinePolicy) {
    this.#store = store;
    this.#partition = partition;
    this.#at = at;
    this.#atIso = at.toISOString();
    this.#deadlines = deadlines;
    // The main thread's read snapshot may predate its own last commit: start from the latest.
    store.env.resetReadTxn();
  }

  get at(): Date {
    return this.#at;
  }

  get partition(): number {
    return this.#partition;
  }

  pendingOf(body: string): readonly PendingEntry[] {
    return this.#pending.get(body) ?? this.#store.pending.get(body) ?? [];
  }

  registeredOf(body: string): RegistryEntry | undefined {
    const own = this.#registry.get(body);
    if (own !== undefined) return own ?? undefined;
    return this.#store.registry.get(body);
  }

  /** `base` with this batch's registry changes layered over it (for decisions on the main thread). */
  view(base: IndexView): IndexView {
    return { ...base, registered: (body) => this.registeredOf(body) };
  }

  #remember(decision: FinalDecision, source: SourceId | null): void {
    this.#outcomes.push([decision.requestId, encodeOutcome({ decision, source, at: this.#atIso })]);
  }

  dlq(value: Uint8Array, key: string | null): void {
    this.#outputs.push([ROLE_DLQ, key, value]);
    this.#count('dlq');
  }

  /**
   * Record a verdict. `source` identifies where the request was read; for outcomes reached by a
   * command it is the pending request's own source.
   */
  verdict(result: Extract<BatchResult, { kind: 'verdict' }>, source: SourceId | null): void {
    const { decision } = result;
    this.#outputs.push([ROLE_RESULTS, decision.requestId, result.result]);
    if (result.confirmation !== null)
      this.#outputs.push([ROLE_CONFIRMATIONS, decision.imei, result.confirmation]);
    this.#count(countKey(decision));
    if (result.replayed) return;
    switch (decision.outcome) {
      case 'confirmed':
        this.#remember(decision, source);
        if (decision.notify)
          this.#registry.set(decision.body, registryEntryOf(decision, this.#partition, this.#atIso));
        this.#dropPending(decision.body, decision.requestId);
        break;
      case 'rejected':
        // A duplicate must not overwrite the outcome it duplicates.
        if (decision.reason === 'duplicate_request') break;
        this.#remember(decision, source);
        if (decision.body !== null) this.#dropPending(decision.body, decision.requestId);
        break;
      case 'pending':
      case 'review':
        if (result.request === null || source === null) {
          throw new Error(`a ${decision.outcome} verdict for ${decision.requestId} came without its request`);
        }
        this.#wait(decision, result.request, source);
        break;
    }
  }

  /** Rule 9: withdraw a confirmation. */
  revocation(body: string, imei: string, value: Uint8Array): void {
    this.#outputs.push([ROLE_REVOCATIONS, imei, value]);
    this.#registry.set(body, null);
    this.#count('revoked');
  }

  #count(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  #wait(
    decision: Decision & { outcome: 'pending' | 'review' },
    request: VerifyRequest,
    source: SourceId,
  ): void {
    const entries = this.pendingOf(decision.body);
    const previous = entries.find((e) => e.request.requestId === decision.requestId);
    const since = previous?.since ?? this.#atIso;
    const stage = decision.outcome === 'pending' ? 'awaiting_kgd' : 'review';
    const entry: PendingEntry = {
      request,
      partition: this.#partition,
      source: previous?.source ?? source,
      stage,
      reason: decision.reason,
      detail: decision.detail,
      since,
      // Each stage has its deadline: KGD's, then the reviewer's (src/domain/deadline.ts).
      deadline: waitingDeadline(stage, this.#at, previous, this.#deadlines),
    };
    const next = entries.filter((e) => e.request.requestId !== decision.requestId);
    next.push(entry);
    this.#pending.set(decision.body, next);
    if (decision.outcome === 'pending') this.#newlyPending.add(decision.body);
  }

  #dropPending(body: string, requestId: string): void {
    const entries = this.pendingOf(body);
    if (!entries.some((e) => e.request.requestId === requestId)) return;
    this.#pending.set(
      body,
      entries.filter((e) => e.request.requestId !== requestId),
    );
  }

  finish(): BatchOutcome {
    for (const [body, entries] of this.#pending) {
      this.#outputs.push([ROLE_PENDING_CHANGELOG, pendingKey(body), encodeState(entries)]);
    }
    for (const [body, entry] of this.#registry) {
      this.#outputs.push([ROLE_REGISTRY_CHANGELOG, registryKey(body), encodeState(entry)]);
    }
    return {
      outputs: this.#outputs,
      outcomes: this.#outcomes,
      newlyPending: [...this.#newlyPending],
      registryBodies: [...this.#registry.keys()],
      counts: this.#counts,
    };
  }
}
