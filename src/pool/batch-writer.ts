/**
 * What one partition batch does, built as it is decided: the output messages in decision order
 * and the state changes to store. Reads the partition's state from LMDB and layers the batch's
 * own changes over it, so later messages of the batch see earlier ones (a requestId repeated is
 * a duplicate; a device confirmed is registered for the next request).
 *
 * Waiting requests (pending) and the registry are partition-local; final outcomes are kept for
 * rule 10. Registry changes travel as the БДИК confirmations and revocations themselves (the
 * registry's changelog); waiting requests as records on the pending changelog.
 */
import type { CommandEffects, FlaggedDevice } from '../domain/commands.js';
import { type DeadlinePolicy, waitingDeadline } from '../domain/deadline.js';
import {
  confirmationJson,
  dlqKey,
  dlqMessage,
  type ResultView,
  type Revocation,
  resultJson,
  revocationMessage,
} from '../domain/outputs.js';
import { registryEntryOf } from '../domain/registry-entry.js';
import type { RuleSettings } from '../domain/rule-settings.js';
import type {
  Decision,
  FinalDecision,
  IndexView,
  OutcomeRecord,
  PendingEntry,
  RegistryEntry,
  RejectedDecision,
  SourceId,
  VerifyRequest,
} from '../domain/types.js';
import { encodePendingRecord, packStored } from '../store/state-codec.js';
import {
  DB_OUTCOMES,
  DB_PENDING,
  DB_PENDING_BY_APPLICATION,
  DB_REGISTRY,
  ENCODING_JSON,
  type EncodingFlag,
  OP_PUT,
  OP_REMOVE,
  type OutcomeCounts,
  ROLE_CONFIRMATIONS,
  ROLE_DLQ,
  ROLE_PENDING_CHANGELOG,
  ROLE_REPARTITION,
  ROLE_RESULTS,
  ROLE_REVOCATIONS,
  type RoleCode,
} from './batch-contract.js';
import { OutputsBuilder, type SectionBytes } from './outputs-section.js';
import { type ResultSettings, ResultTenants, SHARED_RESULTS } from './result-tenants.js';

/** The partition's state as stored: what the batch reads before its own changes. */
export interface PartitionStateReader {
  pending(body: string): readonly PendingEntry[] | undefined;
  registered(body: string): RegistryEntry | undefined;
  outcome(requestId: string): OutcomeRecord | undefined;
}

const PENDING_KEY_PREFIX = 'p/';

/** The pending changelog key of a device. */
export function pendingKey(body: string): string {
  return PENDING_KEY_PREFIX + body;
}

export function bodyOfPendingKey(key: string): string | undefined {
  return key.startsWith(PENDING_KEY_PREFIX) ? key.slice(PENDING_KEY_PREFIX.length) : undefined;
}

export class BatchWriter implements CommandEffects {
  readonly at: Date;
  readonly rules: RuleSettings;
  readonly view: IndexView;
  readonly #atIso: string;
  readonly #partition: number;
  readonly #state: PartitionStateReader;
  readonly #deadlines: DeadlinePolicy;
  readonly #tenants: ResultTenants;
  readonly #resultView: ResultView;
  readonly #section = new OutputsBuilder();
  readonly #pending = new Map<string, PendingEntry[]>();
  readonly #registry = new Map<string, RegistryEntry | null>();
  readonly #outcomes = new Map<string, OutcomeRecord>();
  readonly #counts = new Map<string, number>();
  decided = 0;
  forwarded = 0;

  constructor(
    index: IndexView,
    state: PartitionStateReader,
    partition: number,
    at: Date,
    rules: RuleSettings,
    deadlines: DeadlinePolicy,
    results: ResultSettings = SHARED_RESULTS,
  ) {
    this.at = at;
    this.#atIso = at.toISOString();
    this.#partition = partition;
    this.#state = state;
    this.rules = rules;
    this.#deadlines = deadlines;
    this.#tenants = new ResultTenants(results.operators);
    this.#resultView = results.customsView;
    this.view = {
      tac: (tac) => index.tac(tac),
      blocked: (body) => index.blocked(body),
      declarations: (body) => index.declarations(body),
      application: (id) => index.application(id),
      localProduction: (body) => index.localProduction(body),
      registered: (body) => this.registeredOf(body),
      outcome: (requestId) => this.#outcomes.get(requestId) ?? state.outcome(requestId),
    };
  }

  get atIso(): string {
    return this.#atIso;
  }

  pendingOf(body: string): readonly PendingEntry[] {
    return this.#pending.get(body) ?? this.#state.pending(body) ?? [];
  }

  registeredOf(body: string): RegistryEntry | undefined {
    const own = this.#registry.get(body);
    if (own !== undefined) return own ?? undefined;
    return this.#state.registered(body);
  }

  #output(role: RoleCode, key: string | null, value: SectionBytes): void {
    this.#section.output(role, this.#partition, key, value);
  }

  #count(outcome: string, reason: string): void {
    const key = `${outcome}\u0000${reason}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** A request that belongs to another partition's device: re-keyed to it, undecided. */
  forward(
    target: number,
    body: string,
    value: Uint8Array | null,
    encoding: EncodingFlag,
    originPartition: number,
    originOffset: number,
    originTimestamp: number,
  ): void {
    this.#section.output(
      ROLE_REPARTITION,
      target,
      body,
      value,
      encoding,
      originPartition,
      originOffset,
      originTimestamp,
    );
    this.forwarded++;
  }

  /** Something that cannot be decoded or answered goes to the DLQ with its position. */
  dlq(
    source: { topic: string; partition: number; offset: number; key: string | null },
    value: Uint8Array | null,
    error: string,
  ): void {
    this.#output(ROLE_DLQ, dlqKey(source.key), dlqMessage(source, value, error, this.#atIso));
    this.#count('dlq', 'undecodable');
  }

  /**
   * A decision about a request read now. `receivedAt` (its Kafka timestamp) starts the deadline of
   * a request that has to wait. A replayed decision re-emits its outputs and changes nothing.
   */
  decision(
    decision: Decision,
    request: VerifyRequest | null,
    source: SourceId | null,
    receivedAt: number,
    replayed: boolean,
    operator: string | null = request?.operator ?? null,
  ): void {
    this.decided++;
    // A replay re-emits the recorded result; БДИК never gets a confirmation twice (its first one
    // was published with the batch that recorded it).
    this.#emit(decision, operator, !replayed);
    if (replayed) return;
    if (decision.outcome === 'pending' || decision.outcome === 'review') {
      // A request starts waiting when it was received: a backlog here does not stretch its deadline.
      const received = new Date(receivedAt);
      this.#record(decision, request, source, received.toISOString(), received, undefined);
    } else {
      // A final outcome has no waiting time (and no date to format).
      this.#record(decision, request, source, this.#atIso, this.at, undefined);
    }
  }

  /** A waiting request gets a new outcome (CommandEffects). */
  settle(entry: PendingEntry, decision: Decision): void {
    this.#emit(decision, entry.request.operator);
    this.#record(decision, entry.request, entry.source, entry.since, this.at, entry);
  }

  /** Rule 9 (CommandEffects). */
  revoke(body: string, revocation: Revocation): void {
    this.#output(ROLE_REVOCATIONS, revocation.imei, revocationMessage(revocation));
    // The withdrawn confirmation (owner and phone) is compacted away; the revocation stays, the
    // latest per device on its compacted topic, so no restore takes the device back.
    this.#output(ROLE_CONFIRMATIONS, revocation.imei, null);
    this.#registry.set(body, null);
    this.#count('revoked', 'revoked');
  }

  /** A purge (CommandEffects): no registry entry, and Kafka forgets the device's БДИК records. */
  forget(body: string, imei: string): void {
    if (this.registeredOf(body) !== undefined) {
      this.#registry.set(body, null);
      this.#count('destroyed', 'registry');
    }
    // The revocations tombstone last: a restore drops a device whose latest revocations record
    // (a tombstone too) is newer than its confirmation, until compaction removes both.
    this.#output(ROLE_CONFIRMATIONS, imei, null);
    this.#output(ROLE_REVOCATIONS, imei, null);
  }

  /** A purge (CommandEffects): the waiting request is answered and dropped, no outcome kept. */
  discard(entry: PendingEntry, decision: RejectedDecision): void {
    this.#emit(decision, entry.request.operator);
    if (decision.body !== null) this.#dropPending(decision.body, entry.request.requestId);
    this.#count('destroyed', 'pending');
  }

  /** A registered device goes to a reviewer, without a result (CommandEffects). */
  flag(body: string, item: FlaggedDevice): void {
    const at = this.at;
    const entry: PendingEntry = {
      request: item.request,
      partition: this.#partition,
      // Not read from a request: it came from KGD's decision about the device.
      source: `registry/${item.request.requestId}`,
      stage: 'review',
      reason: item.reason,
      detail: item.detail,
      since: this.#atIso,
      deadline: waitingDeadline('review', at, at, undefined, this.#deadlines),
    };
    const others = this.pendingOf(body).filter((e) => e.request.requestId !== item.request.requestId);
    this.#pending.set(body, [...others, entry]);
    this.#count('review', item.reason);
  }

  /** A flagged device leaves the review queue, without a result (CommandEffects). */
  unflag(body: string, entry: PendingEntry): void {
    this.#dropPending(body, entry.request.requestId);
  }

  /** A result, on its operator's topic (`operator` as the request named it), and БДИК's confirmation. */
  #emit(decision: Decision, operator: string | null, notify = true): void {
    const result = resultJson(decision, this.#atIso, this.#resultView);
    const tenant = this.#tenants.codeOf(operator);
    this.#section.output(
      ROLE_RESULTS,
      this.#partition,
      decision.requestId,
      result,
      ENCODING_JSON,
      0,
      0,
      0,
      tenant,
    );
    if (decision.outcome === 'confirmed') {
      if (decision.notify && notify)
        this.#output(ROLE_CONFIRMATIONS, decision.imei, confirmationJson(decision, this.#atIso));
      this.#count('confirmed', decision.evidence);
    } else {
      this.#count(decision.outcome, decision.reason);
    }
  }

  #record(
    decision: Decision,
    request: VerifyRequest | null,
    source: SourceId | null,
    since: string,
    enteredAt: Date,
    previous: PendingEntry | undefined,
  ): void {
    switch (decision.outcome) {
      case 'confirmed':
        this.#remember(decision, source);
        if (decision.notify)
          this.#registry.set(decision.body, registryEntryOf(decision, this.#partition, this.#atIso));
        this.#dropPending(decision.body, decision.requestId);
        return;
      case 'rejected':
        // A duplicate must not overwrite the outcome it duplicates.
        if (decision.reason === 'duplicate_request') return;
        this.#remember(decision, source);
        if (decision.body !== null) this.#dropPending(decision.body, decision.requestId);
        return;
      case 'pending':
      case 'review': {
        if (request === null || source === null) {
          throw new Error(
            `a ${decision.outcome} decision for ${decision.requestId} came without its request`,
          );
        }
        const entries = this.pendingOf(decision.body);
        const earlier = previous ?? entries.find((e) => e.request.requestId === decision.requestId);
        const stage = decision.outcome === 'pending' ? 'awaiting_kgd' : 'review';
        const received = earlier?.since ?? since;
        const entry: PendingEntry = {
          request,
          partition: this.#partition,
          source: earlier?.source ?? source,
          stage,
          reason: decision.reason,
          detail: decision.detail,
          since: received,
          // One deadline from receipt: KGD's stage ends before it, the reviewer's at it (src/domain/deadline.ts).
          deadline: waitingDeadline(stage, new Date(received), enteredAt, earlier, this.#deadlines),
        };
        const next = entries.filter((e) => e.request.requestId !== decision.requestId);
        next.push(entry);
        this.#pending.set(decision.body, next);
        return;
      }
    }
  }

  #remember(decision: FinalDecision, source: SourceId | null): void {
    const record: OutcomeRecord = { decision, source, at: this.#atIso };
    this.#outcomes.set(decision.requestId, record);
    this.#section.op(DB_OUTCOMES, OP_PUT, decision.requestId, packStored(record));
  }

  #dropPending(body: string, requestId: string): void {
    const entries = this.pendingOf(body);
    if (!entries.some((e) => e.request.requestId === requestId)) return;
    this.#pending.set(
      body,
      entries.filter((e) => e.request.requestId !== requestId),
    );
  }

  /** Devices whose waiting requests this batch changed. */
  get pendingBodies(): Iterable<string> {
    return this.#pending.keys();
  }

  /**
   * The batch's outputs section: outputs in decision order, then the changelog records; state
   * changes likewise.
   */
  finish(): { section: Uint8Array; counts: OutcomeCounts } {
    const section = this.#section;
    for (const [body, entries] of this.#pending) {
      const record = encodePendingRecord(entries);
      this.#output(ROLE_PENDING_CHANGELOG, pendingKey(body), record);
      if (entries.length === 0) section.op(DB_PENDING, OP_REMOVE, body, null);
      else section.op(DB_PENDING, OP_PUT, body, packStored(entries));
      // The index of waiting requests by the application they name (for KGD decisions).
      const before = applicationsOf(this.#state.pending(body) ?? []);
      const after = applicationsOf(entries);
      for (const id of after) if (!before.has(id)) section.op(DB_PENDING_BY_APPLICATION, OP_PUT, id, body);
      for (const id of before) if (!after.has(id)) section.op(DB_PENDING_BY_APPLICATION, OP_REMOVE, id, body);
    }
    for (const [body, entry] of this.#registry) {
      if (entry === null) section.op(DB_REGISTRY, OP_REMOVE, body, null);
      else section.op(DB_REGISTRY, OP_PUT, body, packStored(entry));
    }
    const counts = [...this.#counts].map(([key, n]) => {
      const [outcome = '', reason = ''] = key.split('\u0000');
      return [outcome, reason, n] as const;
    });
    return { section: section.finish(), counts };
  }
}

function applicationsOf(entries: readonly PendingEntry[]): Set<string> {
  const ids = new Set<string>();
  for (const e of entries) if (e.request.applicationId !== undefined) ids.add(e.request.applicationId);
  return ids;
}
