/**
 * Commands: the inputs that change a waiting request without a new request arriving — a
 * reviewer's decision, its deadline passing (and, from earlier versions, re-evaluations and
 * revocations). They travel through the commands topic, in the partition of the device they
 * concern, so the device's owner decides them with the same exactly-once journal as requests.
 * Every command is idempotent: applying one twice changes nothing the second time. The same
 * functions settle waiting requests when the index changes (rules 7 and 9). A purge destroys a
 * device's data on request.
 */
import { z } from 'zod';
import { luhnDigit } from './imei.js';
import { type DecisionFacts, isWithdrawal } from './kgd-order.js';
import type { Revocation } from './outputs.js';
import { type PurgeMarks, pendingPurged, registryPurged } from './retention.js';
import { inScope, provesEntry, type RuleSettings } from './rule-settings.js';
import { evaluate } from './rules.js';
import type {
  ConfirmedDecision,
  Decision,
  FlagReason,
  IndexView,
  PendingEntry,
  RegistryEntry,
  RejectedDecision,
  ReviewDecision,
  VerifyRequest,
} from './types.js';

const body = z.string().regex(/^\d{14}$/, 'must be a 14-digit IMEI body');
const requestId = z.string().min(1).max(128);
const issuedAt = z.iso.datetime();

export const commandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('reevaluate'), body, issuedAt }),
  z.strictObject({ type: z.literal('deadline'), body, requestId, issuedAt }),
  z.strictObject({
    type: z.literal('review'),
    body,
    requestId,
    decision: z.enum(['confirm', 'reject']),
    reason: z.string().min(1).max(1000),
    reviewer: z.string().min(1).max(200),
    /** Confirm a request that still waits for KGD: the reviewer said so explicitly (audited). */
    override: z.boolean().optional(),
    issuedAt,
  }),
  z.strictObject({
    type: z.literal('revoke'),
    body,
    applicationId: z.string().min(1).max(128),
    reason: z.string().min(1).max(1000),
    issuedAt,
  }),
  /**
   * Destruction on request (src/domain/retention.ts): the device's partition-local data recorded
   * at or before `issuedAt`; with `erased`, only what a purge already made unreadable (an owner's:
   * its key destroyed). `ownerId`, from builds before owners were pseudonymous, reads as `erased`.
   */
  z.strictObject({
    type: z.literal('purge'),
    body,
    erased: z.literal(true).optional(),
    ownerId: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit IIN/BIN')
      .optional(),
    issuedAt,
  }),
]);

export type Command = z.infer<typeof commandSchema>;

/**
 * What applying a command may read and do, implemented by the batch writer of the partition that
 * owns the device (src/pool/batch-writer.ts): its reads see the batch's own earlier changes.
 */
export interface CommandEffects {
  /** The batch's decision time. */
  readonly at: Date;
  readonly rules: RuleSettings;
  /** The index, with the batch's own registry changes layered over it. */
  readonly view: IndexView;
  pendingOf(body: string): readonly PendingEntry[];
  registeredOf(body: string): RegistryEntry | undefined;
  /** Give a waiting request a new outcome (final, or another waiting stage). */
  settle(entry: PendingEntry, decision: Decision): void;
  /** Rule 9: withdraw a confirmation. */
  revoke(body: string, revocation: Revocation): void;
  /**
   * A purge: drop the device's registry entry (if any) and make Kafka forget its БДИК
   * confirmation and revocation (tombstones; БДИК is not told to withdraw anything).
   */
  forget(body: string, imei: string): void;
  /** A purge: answer a waiting request with `decision` and drop it, keeping no outcome of it. */
  discard(entry: PendingEntry, decision: RejectedDecision): void;
  /**
   * A registered device goes to a reviewer (`kgd_refuted`). No result: its request's final
   * outcome stands, and a reviewer's decision changes only БДИК's record.
   */
  flag(body: string, item: FlaggedDevice): void;
  /** A flagged device leaves the review queue, without a result. */
  unflag(body: string, entry: PendingEntry): void;
}

/** What `flag` puts before a reviewer. */
export interface FlaggedDevice {
  readonly request: VerifyRequest;
  readonly reason: FlagReason;
  readonly detail: string;
}

function imeiOf(bodyDigits: string): string {
  return bodyDigits + String(luhnDigit(bodyDigits));
}

/** Whether a waiting request is one a KGD decision (or a local-production record) can settle. */
export function waitsForEvidence(entry: PendingEntry): boolean {
  // Requests a timeout sent to review still count; an owner conflict needs a person.
  return entry.stage === 'awaiting_kgd' || entry.reason === 'kgd_timeout';
}

/**
 * Rule 7: decide the waiting requests of a device again, now that the index may hold their
 * evidence. Idempotent: a request whose outcome would not change is left as it is.
 */
export function reevaluateDevice(body: string, effects: CommandEffects): void {
  for (const entry of effects.pendingOf(body)) {
    if (!waitsForEvidence(entry)) continue;
    const decision = evaluate(entry.request, effects.view, effects.rules);
    if (decision.outcome === 'pending') continue;
    if (decision.outcome === 'review' && entry.stage === 'review' && entry.reason === decision.reason)
      continue;
    effects.settle(entry, decision);
  }
}

/**
 * The decision KGD's order (src/domain/kgd-order.ts) left standing for one application and one
 * device: the device's entry under it, else the application's record (a decision that names no
 * IMEI, or an IMEI the index does not list).
 */
function standingDecision(body: string, applicationId: string, view: IndexView): DecisionFacts | undefined {
  return (
    view.declarations(body)?.find((d) => d.applicationId === applicationId) ?? view.application(applicationId)
  );
}

function withdrawalReason(applicationId: string, decision: DecisionFacts): string {
  const what =
    decision.status === 'revoked'
      ? `KGD revoked the release decision of application ${applicationId}`
      : `KGD refused release under application ${applicationId}`;
  return decision.grounds === undefined ? what : `${what}: ${decision.grounds}`;
}

/**
 * Whether KGD now refutes a device a reviewer confirmed: the application the request named is
 * refused or revoked; or, when it named none, some application listing the device is, and none
 * releases it under a procedure and an HS code that prove entry.
 */
function refutation(
  body: string,
  entry: RegistryEntry,
  view: IndexView,
  rules: RuleSettings,
): { applicationId: string; decision: DecisionFacts } | undefined {
  if (entry.applicationId !== null) {
    const decision = standingDecision(body, entry.applicationId, view);
    return decision !== undefined && isWithdrawal(decision.status)
      ? { applicationId: entry.applicationId, decision }
      : undefined;
  }
  const declarations = view.declarations(body) ?? [];
  const proven = declarations.some(
    (d) => d.status === 'released' && provesEntry(d.procedure, rules) && inScope(d.hsCode, rules),
  );
  const refuted = declarations.find((d) => isWithdrawal(d.status));
  return proven || refuted === undefined
    ? undefined
    : { applicationId: refuted.applicationId, decision: refuted };
}

/**
 * Rule 9: KGD's decision about a registered device changed. A refusal or revocation withdraws
 * every registration its application proved, whatever the evidence (`kgd-release`,
 * `eaeu-import`): БДИК gets one revocation with the reason. A device a reviewer confirmed that
 * KGD now refutes goes to a reviewer (`kgd_refuted`): it is neither kept nor withdrawn without
 * one. Reads the same index the rules do, so a decision arriving through any door (the topic, a
 * file) is noticed by the device's owner. Idempotent: a withdrawn device is no longer registered,
 * and a device already waiting for a reviewer is not sent again.
 */
export function withdrawIfRefuted(
  body: string,
  effects: CommandEffects,
  options: { readonly review: boolean } = { review: true },
): void {
  const entry = effects.registeredOf(body);
  if (entry === undefined) return;
  if (entry.evidence === 'kgd-release' || entry.evidence === 'eaeu-import') {
    if (entry.applicationId === null) return;
    const decision = standingDecision(body, entry.applicationId, effects.view);
    if (decision === undefined || !isWithdrawal(decision.status)) return;
    revoke(body, entry.applicationId, withdrawalReason(entry.applicationId, decision), effects);
    return;
  }
  if (entry.evidence !== 'manual' || !options.review) return;
  const refuted = refutation(body, entry, effects.view, effects.rules);
  if (refuted === undefined) return;
  const { requestId } = entry;
  if (effects.pendingOf(body).some((e) => e.request.requestId === requestId)) return;
  effects.flag(body, {
    request: {
      requestId,
      imei: entry.imei,
      // The registry does not record the operator that asked (it is БДИК's record).
      operator: '',
      channel: 'import',
      ...(entry.ownerId === null ? {} : { ownerId: entry.ownerId }),
      ...(entry.msisdn === null ? {} : { msisdn: entry.msisdn }),
      // The application that refutes it: the one the reviewer looks at.
      applicationId: refuted.applicationId,
    },
    reason: 'kgd_refuted',
    detail: `confirmed by a reviewer at ${entry.at}; since then ${withdrawalReason(refuted.applicationId, refuted.decision)}`,
  });
}

function revoke(body: string, applicationId: string, reason: string, effects: CommandEffects): void {
  const entry = effects.registeredOf(body);
  if (entry === undefined || entry.applicationId !== applicationId) return;
  effects.revoke(body, {
    imei: entry.imei,
    requestId: entry.requestId,
    applicationId,
    ownerId: entry.ownerId,
    msisdn: entry.msisdn,
    reason,
    revokedAt: effects.at.toISOString(),
  });
}

function deadline(command: Extract<Command, { type: 'deadline' }>, effects: CommandEffects): void {
  const entry = effects.pendingOf(command.body).find((e) => e.request.requestId === command.requestId);
  if (entry === undefined || entry.stage !== 'awaiting_kgd' || entry.deadline === null) return;
  if (Date.parse(entry.deadline) > Date.parse(command.issuedAt)) return;
  const decision: ReviewDecision = {
    outcome: 'review',
    requestId: entry.request.requestId,
    imei: imeiOf(command.body),
    body: command.body,
    reason: 'kgd_timeout',
    detail: `no KGD decision by the deadline ${entry.deadline}; waiting for a reviewer`,
  };
  effects.settle(entry, decision);
}

function review(command: Extract<Command, { type: 'review' }>, effects: CommandEffects): void {
  const entry = effects.pendingOf(command.body).find((e) => e.request.requestId === command.requestId);
  if (entry === undefined) return;
  if (entry.reason === 'kgd_refuted') {
    reviewRefuted(command, entry, effects);
    return;
  }
  const imei = imeiOf(command.body);
  const by = `reviewer ${command.reviewer}`;
  const rejectedAs = (reason: RejectedDecision['reason'], detail: string): RejectedDecision => ({
    outcome: 'rejected',
    requestId: entry.request.requestId,
    imei,
    body: command.body,
    reason,
    detail,
  });
  if (command.decision === 'reject') {
    effects.settle(entry, rejectedAs('review_rejected', `rejected by ${by}: ${command.reason}`));
    return;
  }
  // KGD may still answer: only an explicit override confirms before it has (the control plane
  // asks for one and audits it; a command without one changes nothing).
  if (entry.stage === 'awaiting_kgd' && command.override !== true) return;
  // Rules 3 and 4 hold for a person's confirmation too, as they stand when it is applied.
  const tacCode = command.body.slice(0, 8);
  const tac = effects.view.tac(tacCode);
  if (tac === undefined) {
    effects.settle(
      entry,
      rejectedAs('tac_unknown', `confirmed by ${by}, but TAC ${tacCode} is no longer in the TAC table`),
    );
    return;
  }
  const block = effects.view.blocked(command.body);
  if (block !== undefined) {
    effects.settle(
      entry,
      rejectedAs(
        'blocklisted',
        `confirmed by ${by}, but the device is now blocked by ${block.source}: ${block.reason}`,
      ),
    );
    return;
  }
  const decision: ConfirmedDecision = {
    outcome: 'confirmed',
    requestId: entry.request.requestId,
    imei,
    body: command.body,
    evidence: 'manual',
    applicationId: entry.request.applicationId ?? null,
    procedure: null,
    device: { tac: tac.tac, brand: tac.brand, model: tac.model, deviceType: tac.deviceType },
    ownerId: entry.request.ownerId ?? null,
    msisdn: entry.request.msisdn ?? null,
    operator: entry.request.operator,
    notify: true,
    detail: `confirmed by ${by}${command.override === true ? ' before KGD answered (override)' : ''}: ${command.reason}`,
  };
  effects.settle(entry, decision);
}

/**
 * A reviewer's decision about a device they confirmed that KGD now refutes: `confirm` keeps its
 * registration, `reject` withdraws it from БДИК with the reviewer's reason.
 */
function reviewRefuted(
  command: Extract<Command, { type: 'review' }>,
  entry: PendingEntry,
  effects: CommandEffects,
): void {
  effects.unflag(command.body, entry);
  if (command.decision === 'confirm') return;
  const registered = effects.registeredOf(command.body);
  if (registered === undefined || registered.requestId !== entry.request.requestId) return;
  effects.revoke(command.body, {
    imei: registered.imei,
    requestId: registered.requestId,
    applicationId: entry.request.applicationId ?? registered.applicationId ?? '',
    ownerId: registered.ownerId,
    msisdn: registered.msisdn,
    reason: `withdrawn by reviewer ${command.reviewer} after KGD refuted it: ${command.reason}`,
    revokedAt: effects.at.toISOString(),
  });
}

/**
 * Destruction on request, decided by the device's owner so the registry, the waiting requests
 * and their changelogs change exactly once with everything else. Only what was recorded at or
 * before the purge is destroyed: a device registered again, or a request received, after it is
 * new data. Idempotent: a second application finds nothing left (a device purge sends its
 * tombstones again, which changes nothing).
 */
function purge(command: Extract<Command, { type: 'purge' }>, effects: CommandEffects): void {
  const { body } = command;
  const marks = purgeMarksOfCommand(command);
  const imei = imeiOf(body);
  const entry = effects.registeredOf(body);
  if (entry !== undefined) {
    if (registryPurged(body, entry, marks)) effects.forget(body, imei);
  } else if (marks.imeis.size > 0) {
    // No registry entry: a confirmation revoked earlier may still sit on Kafka with its owner.
    effects.forget(body, imei);
  }
  for (const waiting of effects.pendingOf(body)) {
    if (!pendingPurged(body, waiting, marks)) continue;
    // A flagged registration's request has its outcome already: nobody waits for an answer.
    if (waiting.reason === 'kgd_refuted') {
      effects.unflag(body, waiting);
      continue;
    }
    effects.discard(waiting, {
      outcome: 'rejected',
      requestId: waiting.request.requestId,
      imei,
      body,
      reason: 'purged',
      detail: `its data was destroyed on request at ${command.issuedAt} before it was decided`,
    });
  }
}

/** A purge command as the marks the retention checks take: the device, or only what is erased. */
export function purgeMarksOfCommand(command: Extract<Command, { type: 'purge' }>): PurgeMarks {
  const erasedOnly = command.erased === true || command.ownerId !== undefined;
  return { imeis: erasedOnly ? new Map() : new Map([[command.body, Date.parse(command.issuedAt)]]) };
}

/** Apply one command to the batch. */
export function applyCommand(command: Command, effects: CommandEffects): void {
  switch (command.type) {
    case 'reevaluate':
      reevaluateDevice(command.body, effects);
      return;
    case 'deadline':
      deadline(command, effects);
      return;
    case 'review':
      review(command, effects);
      return;
    case 'revoke':
      revoke(command.body, command.applicationId, command.reason, effects);
      return;
    case 'purge':
      purge(command, effects);
      return;
  }
}

/** Decode a command message; the error says why it is not one. */
export function parseCommand(
  value: Buffer | null,
): { ok: true; command: Command } | { ok: false; error: string } {
  if (value === null || value.length === 0) return { ok: false, error: 'empty command' };
  let decoded: unknown;
  try {
    decoded = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      error: `command is not JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const result = commandSchema.safeParse(decoded);
  if (!result.success) {
    return {
      ok: false,
      error: `invalid command: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    };
  }
  return { ok: true, command: result.data };
}
