/**
 * The manual path (seed 000 §10–11): the queue of requests waiting for a person, and their
 * decisions. Every instance answers for every partition: the queue is the review table, which
 * each instance reads from the pending changelog. A decision becomes a `review` command for the
 * device's partition, decided there by its owner with the journal like everything else:
 * confirmed (evidence `manual`) or `review_rejected`. A reviewer decides with the evidence in view
 * (the device's declarations, the registration in conflict) and with times in Astana time.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CustomsView } from '../../domain/customs-view.js';
import { type DeadlinePolicy, dueOf, stageDeadline } from '../../domain/deadline.js';
import { luhnDigit } from '../../domain/imei.js';
import type { RuleSettings } from '../../domain/rule-settings.js';
import type { RegistryEntry } from '../../domain/types.js';
import { toLocalIso } from '../../domain/working-day.js';
import { messageOf } from '../../errors.js';
import type { CommandSender } from '../../pipeline/command-sender.js';
import type { AuditLog } from '../../security/audit-log.js';
import { customsViewOf, declarationsInView } from '../../security/customs-view.js';
import { masked } from '../../security/masking.js';
import type { TokenService } from '../../security/tokens.js';
import { scanPending } from '../../store/pending-scan.js';
import type { PendingEntry } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { basisOf, requirePermission } from '../auth.js';
import { sendProblem } from '../problem.js';

export interface ReviewRouteOptions {
  /** Every partition's waiting requests (the review table) and the devices' declarations. */
  readonly store: Store;
  /** A device's registration wherever its partition is owned. */
  readonly registryOf: (body: string) => RegistryEntry | undefined;
  /** The deadlines (src/domain/deadline.ts) and the offset times are shown in. */
  readonly policy: DeadlinePolicy;
  readonly rules: RuleSettings;
  /** Sends the decisions; absent when the control plane runs without Kafka (tests, tools). */
  readonly commands: CommandSender | undefined;
  readonly tokens: TokenService;
  readonly audit: Pick<AuditLog, 'record'>;
}

interface Found {
  readonly body: string;
  readonly entry: PendingEntry;
}

/**
 * A waiting request without personal data. `due` is its one deadline (src/domain/deadline.ts:
 * one working day from receipt, KGD's wait and the reviewer's work both inside it), in Astana
 * time as reviewers read it (seed 001 §30); `remainingSeconds` runs to it. `deadline` is the
 * current stage's, UTC.
 */
function summary({ body, entry }: Found, policy: DeadlinePolicy, now: number) {
  const due = dueOf(entry, policy);
  const offset = policy.calendar.utcOffsetMinutes;
  return {
    requestId: entry.request.requestId,
    imei: body + String(luhnDigit(body)),
    operator: entry.request.operator,
    channel: entry.request.channel,
    applicationId: entry.request.applicationId ?? null,
    stage: entry.stage,
    reason: entry.reason,
    detail: entry.detail,
    since: entry.since,
    receivedAt: toLocalIso(new Date(entry.since), offset),
    deadline: stageDeadline(entry, policy),
    due: toLocalIso(new Date(due), offset),
    dueUtc: due,
    /** Until the request is due; negative once it is overdue. */
    remainingSeconds: Math.round((Date.parse(due) - now) / 1000),
    partition: entry.partition,
  };
}

async function waiting(store: Store): Promise<Found[]> {
  const found: Found[] = [];
  for await (const [body, entries] of scanPending(store, undefined, 'reviews')) {
    for (const entry of entries) found.push({ body, entry });
  }
  return found.sort((a, b) => a.entry.since.localeCompare(b.entry.since));
}

async function find(store: Store, requestId: string): Promise<Found | undefined> {
  for await (const [body, entries] of scanPending(store, undefined, 'reviews')) {
    for (const entry of entries) if (entry.request.requestId === requestId) return { body, entry };
  }
  return undefined;
}

const listSchema = {
  summary: 'Requests waiting for a reviewer (and, with stage=all, for KGD), oldest first',
  description:
    "Each with its stage's deadline (one working day: KGD's, then the reviewer's from when the request entered review) and the seconds remaining until it (negative: overdue).",
  querystring: z.object({
    stage: z.enum(['review', 'awaiting_kgd', 'all']).default('review'),
    limit: z.coerce.number().int().min(1).max(10_000).default(500),
  }),
};

const detailSchema = {
  summary: 'One waiting request with the evidence a reviewer decides on',
  description:
    "The device's KGD declarations (the role's customs view) and, for an owner conflict, the registration in conflict. Owners and phone numbers are masked; with X-Basis they are shown in full and the read is audited.",
  params: z.object({ requestId: z.string().min(1).max(128) }),
};

const decisionSchema = {
  summary: 'Confirm or reject a waiting request',
  description:
    'Accepted (202) once the decision is in Kafka; the outcome appears on imei.verify.results (and bdik.confirmations) when its partition decides it.',
  params: z.object({ requestId: z.string().min(1).max(128) }),
  body: z.strictObject({
    decision: z.enum(['confirm', 'reject']),
    reason: z.string().trim().min(1).max(1000),
    /**
     * Confirm a request that still waits for KGD (stage awaiting_kgd): KGD may yet refuse
     * it, so the reviewer says so explicitly; audited as `review.confirm-override`.
     */
    override: z.boolean().optional(),
  }),
};

export async function reviewRoutes(app: FastifyInstance, options: ReviewRouteOptions): Promise<void> {
  const { store, policy, audit } = options;
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const preHandler = requirePermission(options.tokens, 'review');

  typed.get('/v1/reviews', { schema: listSchema, preHandler }, async (request) => {
    const { stage, limit } = request.query;
    const items = (await waiting(store)).filter((f) => stage === 'all' || f.entry.stage === stage);
    const now = Date.now();
    return { total: items.length, items: items.slice(0, limit).map((f) => summary(f, policy, now)) };
  });

  typed.get('/v1/reviews/:requestId', { schema: detailSchema, preHandler }, async (request, reply) => {
    const actor = request.actor!;
    const basis = basisOf(request);
    const found = await find(store, request.params.requestId);
    if (found === undefined)
      return sendProblem(reply, 'not-found', `no waiting request ${request.params.requestId}`);
    const personal = basis !== null;
    if (personal) {
      await audit.record({
        actor: actor.name,
        role: actor.role,
        action: 'review.read-personal',
        basis,
        target: request.params.requestId,
      });
    }
    return evidence(options, found, customsViewOf(actor.role), personal);
  });

  typed.post('/v1/reviews/:requestId', { schema: decisionSchema, preHandler }, async (request, reply) => {
    const actor = request.actor!;
    const { requestId } = request.params;
    const found = await find(store, requestId);
    if (found === undefined) return sendProblem(reply, 'not-found', `no waiting request ${requestId}`);
    const { decision, reason } = request.body;
    const override = decision === 'confirm' && found.entry.stage === 'awaiting_kgd';
    if (override && request.body.override !== true) {
      return sendProblem(
        reply,
        'kgd-pending',
        `request ${requestId} still waits for KGD: confirming it before KGD answers needs "override": true`,
      );
    }
    if (options.commands === undefined)
      return sendProblem(reply, 'not-ready', 'this control plane is not connected to Kafka');
    try {
      await options.commands.send([
        {
          type: 'review',
          body: found.body,
          requestId,
          decision,
          reason,
          reviewer: actor.name,
          ...(override ? { override: true } : {}),
          issuedAt: new Date().toISOString(),
        },
      ]);
    } catch (error) {
      return sendProblem(reply, 'kafka-unavailable', messageOf(error));
    }
    await audit.record({
      actor: actor.name,
      role: actor.role,
      action: override ? 'review.confirm-override' : `review.${decision}`,
      basis: reason,
      target: requestId,
    });
    return reply.code(202).send({ status: 'accepted', requestId, decision });
  });
}

/**
 * A waiting request with what a reviewer decides on: the device's declarations in the role's
 * customs view and, for an owner conflict, the registration in conflict; owners and phones
 * masked unless `personal`.
 */
function evidence(options: ReviewRouteOptions, found: Found, customsView: CustomsView, personal: boolean) {
  const { store, policy } = options;
  const { body, entry } = found;
  const offset = policy.calendar.utcOffsetMinutes;
  const shown = (text: string | null | undefined): string | null =>
    text === undefined || text === null ? null : personal ? text : masked(text);
  // The registration in conflict, wherever its partition is owned (as GET /v1/devices).
  const registered = entry.reason === 'owner_conflict' ? (options.registryOf(body) ?? null) : null;
  return {
    ...summary(found, policy, Date.now()),
    ownerId: shown(entry.request.ownerId),
    msisdn: shown(entry.request.msisdn),
    submittedAt: entry.request.submittedAt ?? null,
    personalData: personal,
    customsView,
    // Decision times in Astana time, as the reviewer reads every time here.
    declarations: declarationsInView(customsView, store.declarations.get(body) ?? [], options.rules)?.map(
      (d) =>
        'decidedAt' in d && d.decidedAt !== null
          ? { ...d, decidedAt: toLocalIso(new Date(d.decidedAt), offset) }
          : d,
    ),
    conflict:
      registered === null
        ? null
        : {
            requestId: registered.requestId,
            // Whose subscriber the device is: the operator the reviewer may have to ask.
            operator: registered.operator,
            evidence: registered.evidence,
            ...(customsView === 'full'
              ? { applicationId: registered.applicationId, procedure: registered.procedure }
              : {}),
            at: registered.at,
            registeredAt: toLocalIso(new Date(registered.at), offset),
            ownerId: shown(registered.ownerId),
            msisdn: shown(registered.msisdn),
          },
  };
}
