/** POST /v1/verify — decide a request from local state, rule by rule; nothing is published. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { validateRequest } from '../../domain/request.js';
import { decide, ruleSettings } from '../../domain/rules.js';
import { lmdbIndexView } from '../../store/index-view.js';
import { requirePermission } from '../auth.js';
import type { ControlPlaneDeps } from '../deps.js';
import { sendProblem } from '../problem.js';

export function verifyRoutes(app: FastifyInstance, deps: ControlPlaneDeps): void {
  const rules = ruleSettings(deps.config.rules);
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/verify',
    {
      schema: {
        summary: 'Dry-run a verification request',
        description:
          'The body is a verification request as on imei.verify.requests. Returns the decision and the rules consulted.',
        body: z.record(z.string(), z.unknown()),
      },
      preHandler: requirePermission(deps.tokens, 'dryRun'),
    },
    async (request, reply) => {
      const parsed = validateRequest(request.body);
      if (parsed.kind === 'undecodable') return sendProblem(reply, 'invalid-request', parsed.error);
      if (parsed.kind === 'invalid') {
        return {
          decision: {
            outcome: 'rejected',
            requestId: parsed.requestId,
            imei: parsed.imei,
            reason: 'invalid_request',
            detail: parsed.detail,
          },
          steps: [parsed.detail],
        };
      }
      const steps: string[] = [];
      deps.store.env.resetReadTxn();
      const { decision } = decide(parsed.request, null, lmdbIndexView(deps.store), rules, (s) =>
        steps.push(s),
      );
      return { decision, steps };
    },
  );
}
