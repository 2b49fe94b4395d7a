/**
 * POST /v1/verify — decide a request from local state, rule by rule; nothing is published.
 * The answer never shows another request's owner or phone unless the role may read personal data
 * and an X-Basis is given; such an answer is audited (src/domain/dry-run.ts says why).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dryRun } from '../../domain/dry-run.js';
import { validateRequest } from '../../domain/request.js';
import { ruleSettingsOf } from '../../domain/rules.js';
import { customsViewOf } from '../../security/customs-view.js';
import { allows } from '../../security/roles.js';
import { lmdbIndexView } from '../../store/index-view.js';
import { basisOf, forbid, requirePermission } from '../auth.js';
import type { ControlPlaneDeps } from '../deps.js';
import { sendProblem } from '../problem.js';

export function verifyRoutes(app: FastifyInstance, deps: ControlPlaneDeps): void {
  const rules = ruleSettingsOf(deps.config.rules);
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/verify',
    {
      schema: {
        summary: 'Dry-run a verification request',
        description:
          'The body is a verification request as on imei.verify.requests. Returns the decision and the rules consulted. ' +
          'For a registered device, the recorded owner and phone are shown (as `registeredOwner`) only to roles that may read ' +
          'personal data and only with an X-Basis header; such answers are audited. Otherwise `withheld` says that they exist.',
        body: z.record(z.string(), z.unknown()),
        headers: z.object({ 'x-basis': z.string().max(200).optional() }).passthrough(),
      },
      preHandler: requirePermission(deps.tokens, 'dryRun'),
    },
    async (request, reply) => {
      const actor = request.actor!;
      const basis = basisOf(request);
      if (basis !== null && !allows(actor.role, 'readPersonalData')) {
        return forbid(request, reply, `role ${actor.role} may not read personal data`);
      }
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
      // Steps quoting applications the request did not name follow the role's customs view.
      const customsView = customsViewOf(actor.role);
      let customsWithheld = false;
      deps.store.env.resetReadTxn();
      const run = dryRun(parsed.request, lmdbIndexView(deps.store), rules, (step, topic) => {
        if (topic !== 'customs' || customsView === 'full') steps.push(step);
        else if (!customsWithheld) {
          customsWithheld = true;
          steps.push(
            `declarations: listed, details withheld (customs view ${customsView} for role ${actor.role})`,
          );
        }
      });
      if (run.recorded === null) return { decision: run.full, steps, personalData: false, withheld: false };
      if (basis === null) return { decision: run.withheld, steps, personalData: false, withheld: true };
      await deps.audit.record({
        actor: actor.name,
        role: actor.role,
        action: 'verify.read-personal',
        basis,
        target: run.full.imei,
      });
      return {
        decision: run.full,
        steps,
        personalData: true,
        withheld: false,
        registeredOwner: run.recorded,
      };
    },
  );
}
