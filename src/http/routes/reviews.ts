/**
 * The manual path (seed 000 §10–11): the queue of requests waiting for a person, and their
 * decisions. Every instance answers for every partition: the queue is the review table, which
 * each instance reads from the pending changelog. A decision becomes a `review` command for the
 * device's partition, decided there by its owner with the journal like everything else:
 * confirmed (evidence `manual`) or `review_rejected`.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deadlinePolicy } from '../../config/config.js';
import { type DeadlinePolicy, stageDeadline } from '../../domain/deadline.js';
import { luhnDigit } from '../../domain/imei.js';
import { messageOf } from '../../errors.js';
import { scanPending } from '../../store/pending-scan.js';
import type { PendingEntry } from '../../store/records.js';
import { basisOf, requirePermission } from '../auth.js';
import type { ControlPlaneDeps } from '../deps.js';
import { sendProblem } from '../problem.js';

interface Found {
  readonly body: string;
  readonly entry: PendingEntry;
}

/** A waiting request without personal data; its deadline is its stage's (src/domain/deadline.ts). */
function summary({ body, entry }: Found, policy: DeadlinePolicy, now: number) {
  const deadline = stageDeadline(entry, policy);
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
    deadline,
    /** Until the stage's deadline; negative once it has passed. */
    remainingSeconds: Math.round((Date.parse(deadline) - now) / 1000),
    partition: entry.partition,
  };
}

export function reviewRoutes(app: FastifyInstance, deps: ControlPlaneDeps): void {
  const { store, tokens, audit } = deps;
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const policy: DeadlinePolicy = deadlinePolicy(deps.config);

  const waiting = async (): Promise<Found[]> => {
    const found: Found[] = [];
    for await (const [body, entries] of scanPending(store, undefined, 'reviews')) {
      for (const entry of entries) found.push({ body, entry });
    }
    return found.sort((a, b) => a.entry.since.localeCompare(b.entry.since));
  };
  const find = async (requestId: string): Promise<Found | undefined> => {
    for await (const [body, entries] of scanPending(store, undefined, 'reviews')) {
      for (const entry of entries) if (entry.request.requestId === requestId) return { body, entry };
    }
    return undefined;
  };

  typed.get(
    '/v1/reviews',
    {
      schema: {
        summary: 'Requests waiting for a reviewer (and, with stage=all, for KGD), oldest first',
        description:
          "Each with its stage's deadline (one working day: KGD's, then the reviewer's from when the request entered review) and the seconds remaining until it (negative: overdue).",
        querystring: z.object({
          stage: z.enum(['review', 'awaiting_kgd', 'all']).default('review'),
          limit: z.coerce.number().int().min(1).max(10_000).default(500),
        }),
      },
      preHandler: requirePermission(tokens, 'review'),
    },
    async (request) => {
      const { stage, limit } = request.query;
      const items = (await waiting()).filter((f) => stage === 'all' || f.entry.stage === stage);
      const now = Date.now();
      return { total: items.length, items: items.slice(0, limit).map((f) => summary(f, policy, now)) };
    },
  );

  typed.get(
    '/v1/reviews/:requestId',
    {
      schema: {
        summary: 'One waiting request with its owner and phone number (needs X-Basis; audited)',
        params: z.object({ requestId: z.string().min(1).max(128) }),
      },
      preHandler: requirePermission(tokens, 'review'),
    },
    async (request, reply) => {
      const actor = request.actor!;
      const basis = basisOf(request);
      if (basis === null)
        return sendProblem(reply, 'basis-required', 'say why in the X-Basis header (e.g. the review ticket)');
      const found = await find(request.params.requestId);
      if (found === undefined)
        return sendProblem(reply, 'not-found', `no waiting request ${request.params.requestId}`);
      await audit.record({
        actor: actor.name,
        role: actor.role,
        action: 'review.read-personal',
        basis,
        target: request.params.requestId,
      });
      return {
        ...summary(found, policy, Date.now()),
        ownerId: found.entry.request.ownerId ?? null,
        msisdn: found.entry.request.msisdn ?? null,
        submittedAt: found.entry.request.submittedAt ?? null,
      };
    },
  );

  typed.post(
    '/v1/reviews/:requestId',
    {
      schema: {
        summary: 'Confirm or reject a waiting request',
        description:
          'Accepted (202) once the decision is in Kafka; the outcome appears on imei.verify.results (and bdik.confirmations) when its partition decides it.',
        params: z.object({ requestId: z.string().min(1).max(128) }),
        body: z.strictObject({
          decision: z.enum(['confirm', 'reject']),
          reason: z.string().trim().min(1).max(1000),
        }),
      },
      preHandler: requirePermission(tokens, 'review'),
    },
    async (request, reply) => {
      const actor = request.actor!;
      const found = await find(request.params.requestId);
      if (found === undefined)
        return sendProblem(reply, 'not-found', `no waiting request ${request.params.requestId}`);
      if (deps.commands === undefined)
        return sendProblem(reply, 'not-ready', 'this control plane is not connected to Kafka');
      const { decision, reason } = request.body;
      try {
        await deps.commands.send([
          {
            type: 'review',
            body: found.body,
            requestId: request.params.requestId,
            decision,
            reason,
            reviewer: actor.name,
            issuedAt: new Date().toISOString(),
          },
        ]);
      } catch (error) {
        return sendProblem(reply, 'kafka-unavailable', messageOf(error));
      }
      await audit.record({
        actor: actor.name,
        role: actor.role,
        action: `review.${decision}`,
        basis: reason,
        target: request.params.requestId,
      });
      return reply.code(202).send({ status: 'accepted', requestId: request.params.requestId, decision });
    },
  );
}
