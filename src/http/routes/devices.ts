/**
 * GET /v1/devices/:imei — what imeiflow knows about a device; personal data only with a basis,
 * customs data only as much as the role's customs view allows (src/security/customs-view.ts), and
 * to an operator only its own (src/security/tenancy.ts): its own waiting requests, and a
 * registration while it asks about the device in one of them.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { normaliseImei } from '../../domain/imei.js';
import { ruleSettingsOf } from '../../domain/rule-settings.js';
import { customsViewOf, declarationsInView } from '../../security/customs-view.js';
import { allows } from '../../security/roles.js';
import {
  REGISTRATION_WITHHELD,
  readsRegistration,
  seesWaiting,
  tenancyOf,
  UNBOUND_DETAIL,
} from '../../security/tenancy.js';
import { basisOf, forbid, requirePermission } from '../auth.js';
import type { ControlPlaneDeps } from '../deps.js';
import { sendProblem } from '../problem.js';

export function deviceRoutes(app: FastifyInstance, deps: ControlPlaneDeps): void {
  const { store, tokens, audit } = deps;
  const rules = ruleSettingsOf(deps.config.rules);
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/devices/:imei',
    {
      schema: {
        summary: 'Status, TAC record and evidence of one device',
        description:
          'Owner and phone number are included only for roles that may read personal data, with an X-Basis header (the case or request number); such reads are audited. `include=personal` insists on them. ' +
          'Customs declarations follow the role (`customsView`): `full` for kgd, reviewer and admin; `reduced` (status and whether it proves legal entry, per declaration) for operator; `none` (null) for sre. ' +
          'Operators are tenants: an operator sees only its own waiting requests (others are not even a status), and reads a registration (its request, owner and phone) only while it asks about the device in a waiting request of its own; otherwise `registry.ownerWithheld` says so. ' +
          'An operator account that names no operator reads no personal data (`operator-unbound`).',
        params: z.object({ imei: z.string().max(64) }),
        querystring: z.object({ include: z.enum(['personal']).optional() }),
        headers: z.object({ 'x-basis': z.string().max(200).optional() }).passthrough(),
      },
      preHandler: requirePermission(tokens, 'readDevice'),
    },
    async (request, reply) => {
      const actor = request.actor!;
      const normalised = normaliseImei(request.params.imei);
      if (!normalised.ok)
        return sendProblem(reply, 'invalid-imei', normalised.detail, { reason: normalised.reason });
      const basis = basisOf(request);
      const wantsPersonal = request.query.include === 'personal' || basis !== null;
      if (wantsPersonal && !allows(actor.role, 'readPersonalData')) {
        return forbid(request, reply, `role ${actor.role} may not read personal data`);
      }
      if (request.query.include === 'personal' && basis === null) {
        return sendProblem(
          reply,
          'basis-required',
          'say why (a case or request number) in the X-Basis header',
        );
      }
      const tenancy = tenancyOf(actor);
      if (wantsPersonal && tenancy.kind === 'unbound')
        return forbid(request, reply, UNBOUND_DETAIL, 'unbound');
      const personal = wantsPersonal && basis !== null;
      const customsView = customsViewOf(actor.role);
      const { body, imei, tac } = normalised;
      const tacRecord = store.tac.get(tac) ?? null;
      const blocked = store.blocklist.get(body) ?? null;
      // The owner's registry, or the view of it for a partition owned elsewhere: the same entry
      // through every instance.
      const registry =
        (deps.registryOf === undefined ? store.registry.get(body) : deps.registryOf(body)) ?? null;
      const waiting = store.reviews.get(body) ?? [];
      // Another operator's waiting request is not shown, not even as the device's status: that
      // someone is registering this device is that operator's business.
      const pending = waiting.filter((entry) => seesWaiting(tenancy, entry));
      // The registry does not say which operator registered a device (tenancy.ts): null.
      const registrationRead = readsRegistration(tenancy, waiting, null);
      const status =
        tacRecord === null
          ? 'unknown_tac'
          : blocked !== null
            ? 'blocked'
            : registry !== null
              ? 'registered'
              : pending.some((p) => p.stage === 'review')
                ? 'review'
                : pending.length > 0
                  ? 'pending'
                  : 'not_registered';
      if (personal) {
        await audit.record({
          actor: actor.name,
          role: actor.role,
          action: 'device.read-personal',
          basis,
          target: imei,
        });
      }
      return {
        imei,
        status,
        tac: tacRecord,
        blocked,
        registry:
          registry === null
            ? null
            : {
                // The request that registered it is its operator's (a requestId names it, often).
                ...(registrationRead ? { requestId: registry.requestId } : {}),
                evidence: registry.evidence,
                // The application and procedure behind a registration are customs data too.
                ...(customsView === 'full'
                  ? { applicationId: registry.applicationId, procedure: registry.procedure }
                  : {}),
                at: registry.at,
                ...(personal && registrationRead
                  ? { ownerId: registry.ownerId, msisdn: registry.msisdn }
                  : {}),
                ...(personal && !registrationRead ? { ownerWithheld: REGISTRATION_WITHHELD } : {}),
              },
        customsView,
        declarations: declarationsInView(customsView, store.declarations.get(body) ?? [], rules),
        pending: pending.map((p) => ({
          requestId: p.request.requestId,
          operator: p.request.operator,
          stage: p.stage,
          reason: p.reason,
          since: p.since,
          deadline: p.deadline,
          ...(personal ? { ownerId: p.request.ownerId ?? null, msisdn: p.request.msisdn ?? null } : {}),
        })),
        personalData: personal,
      };
    },
  );
}
