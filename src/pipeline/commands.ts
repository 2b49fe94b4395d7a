/**
 * Commands: the inputs that change a waiting request without a new request arriving — a KGD
 * decision that may settle it, its deadline passing, a reviewer's decision, a revocation. They
 * travel through the commands topic, in the partition of the request they concern, so they are
 * processed by the partition's owner with the same exactly-once journal as requests. Every
 * command is idempotent: applying one twice changes nothing the second time.
 */
import { z } from 'zod';
import { luhnDigit } from '../domain/imei.js';
import { revocationMessage } from '../domain/outputs.js';
import { evaluate, type RuleSettings } from '../domain/rules.js';
import type {
  ConfirmedDecision,
  Decision,
  IndexView,
  RejectedDecision,
  ReviewDecision,
} from '../domain/types.js';
import { verdictOf } from '../pool/verify-batch.js';
import type { PendingEntry } from '../store/records.js';
import type { BatchEffects } from './batch-effects.js';

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
    issuedAt,
  }),
  z.strictObject({
    type: z.literal('revoke'),
    body,
    applicationId: z.string().min(1).max(128),
    reason: z.string().min(1).max(1000),
    issuedAt,
  }),
]);

export type Command = z.infer<typeof commandSchema>;

export interface CommandContext {
  readonly view: IndexView;
  readonly rules: RuleSettings;
}

function imeiOf(bodyDigits: string): string {
  return bodyDigits + String(luhnDigit(bodyDigits));
}

function settle(effects: BatchEffects, entry: PendingEntry, decision: Decision): void {
  effects.verdict(verdictOf(decision, false, entry.request, effects.at.toISOString()), entry.source);
}

function reevaluate(
  command: Extract<Command, { type: 'reevaluate' }>,
  effects: BatchEffects,
  ctx: CommandContext,
): void {
  const view = effects.view(ctx.view);
  for (const entry of effects.pendingOf(command.body)) {
    // Only requests waiting for KGD (including those a timeout sent to review) can be settled
    // by a KGD decision; an owner conflict needs a person.
    const waitsForKgd = entry.stage === 'awaiting_kgd' || entry.reason === 'kgd_timeout';
    if (!waitsForKgd) continue;
    const decision = evaluate(entry.request, view, ctx.rules);
    if (decision.outcome === 'pending') continue;
    if (decision.outcome === 'review' && entry.stage === 'review' && entry.reason === decision.reason)
      continue;
    settle(effects, entry, decision);
  }
}

function deadline(command: Extract<Command, { type: 'deadline' }>, effects: BatchEffects): void {
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
  settle(effects, entry, decision);
}

function review(
  command: Extract<Command, { type: 'review' }>,
  effects: BatchEffects,
  ctx: CommandContext,
): void {
  const entry = effects.pendingOf(command.body).find((e) => e.request.requestId === command.requestId);
  if (entry === undefined) return;
  const imei = imeiOf(command.body);
  if (command.decision === 'reject') {
    const decision: RejectedDecision = {
      outcome: 'rejected',
      requestId: entry.request.requestId,
      imei,
      body: command.body,
      reason: 'review_rejected',
      detail: `rejected by reviewer ${command.reviewer}: ${command.reason}`,
    };
    settle(effects, entry, decision);
    return;
  }
  const tac = ctx.view.tac(command.body.slice(0, 8));
  const decision: ConfirmedDecision = {
    outcome: 'confirmed',
    requestId: entry.request.requestId,
    imei,
    body: command.body,
    evidence: 'manual',
    applicationId: entry.request.applicationId ?? null,
    procedure: null,
    device: {
      tac: command.body.slice(0, 8),
      brand: tac?.brand ?? 'Unknown',
      model: tac?.model ?? 'Unknown',
      deviceType: tac?.deviceType ?? 'Unknown',
    },
    ownerId: entry.request.ownerId ?? null,
    msisdn: entry.request.msisdn ?? null,
    notify: true,
    detail: `confirmed by reviewer ${command.reviewer}: ${command.reason}`,
  };
  settle(effects, entry, decision);
}

function revoke(command: Extract<Command, { type: 'revoke' }>, effects: BatchEffects): void {
  const entry = effects.registeredOf(command.body);
  if (entry === undefined || entry.applicationId !== command.applicationId) return;
  effects.revocation(
    command.body,
    entry.imei,
    revocationMessage({
      imei: entry.imei,
      requestId: entry.requestId,
      applicationId: command.applicationId,
      ownerId: entry.ownerId,
      msisdn: entry.msisdn,
      reason: command.reason,
      revokedAt: effects.at.toISOString(),
    }),
  );
}

/** Apply one command to the batch. */
export function applyCommand(command: Command, effects: BatchEffects, ctx: CommandContext): void {
  switch (command.type) {
    case 'reevaluate':
      reevaluate(command, effects, ctx);
      return;
    case 'deadline':
      deadline(command, effects);
      return;
    case 'review':
      review(command, effects, ctx);
      return;
    case 'revoke':
      revoke(command, effects);
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
