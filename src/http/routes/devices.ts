/**
 * GET /v1/devices/:imei — what imeiflow knows about a device; personal data only with a basis,
 * customs data only as much as the role's customs view allows (src/security/customs-view.ts), and
 * to an operator only its own (src/security/tenancy.ts): its own waiting requests, and a
 * registration while it asks about the device in one of them.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CustomsView } from '../../domain/customs-view.js';
import { type NormalisedImei, normaliseImei } from '../../domain/imei.js';
import type { RuleSettings } from '../../domain/rule-settings.js';
import type { PendingEntry, RegistryEntry } from '../../domain/types.js';
import type { AuditLog } from '../../security/audit-log.js';
import { customsViewOf, declarationsInView } from '../../security/customs-view.js';
import { allows } from '../../security/roles.js';
import {
  REGISTRATION_WITHHELD,
  readsRegistration,
  seesWaiting,
  type Tenancy,
  tenancyOf,
  UNBOUND_DETAIL,
} from '../../security/tenancy.js';
import type { TokenService } from '../../security/tokens.js';
import type { Store } from '../../store/store.js';
import { basisOf, forbid, requirePermission } from '../auth.js';
import { sendProblem } from '../problem.js';

export interface DeviceRouteOptions {
  /** This instance's tables of every partition's devices: TAC, block list, waiting requests, KGD's declarations. */
  readonly store: Pick<Store, 'tac' | 'blocklist' | 'reviews' | 'declarations'>;
  /** A device's registration wherever its partition is owned. */
  readonly registryOf: (body: string) => RegistryEntry | undefined;
  /** What the customs view makes of a declaration (whether it proves legal entry). */
  readonly rules: RuleSettings;
  readonly tokens: TokenService;
  readonly audit: Pick<AuditLog, 'record'>;
}

const schema = {
  summary: 'Status, TAC record and evidence of one device',
  description:
    'Owner and phone number are included only for roles that may read personal data, with an X-Basis header (the case or request number); such reads are audited. `include=personal` insists on them. ' +
    'Customs declarations follow the role (`customsView`): `full` for kgd, reviewer and admin; `reduced` (status and whether it proves legal entry, per declaration) for operator; `none` (null) for sre. ' +
    'Operators are tenants: an operator sees only its own waiting requests (others are not even a status), and reads a registration (its request, operator, owner and phone) of a device it registered, or of another operator’s registration only while it asks about the device in a waiting request of its own; otherwise `registry.ownerWithheld` says so. ' +
    'An operator account that names no operator reads no personal data (`operator-unbound`).',
  params: z.object({ imei: z.string().max(64) }),
  querystring: z.object({ include: z.enum(['personal']).optional() }),
  headers: z.object({ 'x-basis': z.string().max(200).optional() }).passthrough(),
};

/** What the caller may see of a device. */
interface Sight {
  readonly tenancy: Tenancy;
  readonly customsView: CustomsView;
  /** Personal data asked for, with a basis, by a role and account that may read it. */
  readonly personal: boolean;
}

export async function deviceRoutes(app: FastifyInstance, options: DeviceRouteOptions): Promise<void> {
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(
      '/v1/devices/:imei',
      { schema, preHandler: requirePermission(options.tokens, 'readDevice') },
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
        const answer = deviceAnswer(options, normalised, {
          tenancy,
          customsView: customsViewOf(actor.role),
          personal,
        });
        if (personal) {
          await options.audit.record({
            actor: actor.name,
            role: actor.role,
            action: 'device.read-personal',
            basis,
            target: normalised.imei,
          });
        }
        return answer;
      },
    );
}

/** The device as `sight` shows it. */
function deviceAnswer(options: DeviceRouteOptions, { body, imei, tac }: NormalisedImei, sight: Sight) {
  const { store } = options;
  const tacRecord = store.tac.get(tac) ?? null;
  const blocked = store.blocklist.get(body) ?? null;
  // The owner's registry, or the view of it for a partition owned elsewhere: the same entry
  // through every instance.
  const registry = options.registryOf(body) ?? null;
  const waiting = store.reviews.get(body) ?? [];
  // Another operator's waiting request is not shown, not even as the device's status: that
  // someone is registering this device is that operator's business.
  const pending = waiting.filter((entry) => seesWaiting(sight.tenancy, entry));
  const registrationRead = readsRegistration(sight.tenancy, waiting, registry?.operator ?? null);
  return {
    imei,
    status: statusOf(tacRecord !== null, blocked !== null, registry !== null, pending),
    tac: tacRecord,
    blocked,
    registry: registry === null ? null : registrationInSight(registry, sight, registrationRead),
    customsView: sight.customsView,
    declarations: declarationsInView(sight.customsView, store.declarations.get(body) ?? [], options.rules),
    pending: pending.map((p) => waitingInSight(p, sight.personal)),
    personalData: sight.personal,
  };
}

function statusOf(
  knownTac: boolean,
  blocked: boolean,
  registered: boolean,
  pending: readonly PendingEntry[],
) {
  if (!knownTac) return 'unknown_tac';
  if (blocked) return 'blocked';
  if (registered) return 'registered';
  if (pending.some((p) => p.stage === 'review')) return 'review';
  return pending.length > 0 ? 'pending' : 'not_registered';
}

/** `registrationRead`: whether the caller's tenancy lets it read this registration at all. */
function registrationInSight(registry: RegistryEntry, sight: Sight, registrationRead: boolean) {
  const { customsView, personal } = sight;
  return {
    // The request that registered it, and by whom, are its operator's business (a requestId
    // names the operator, often).
    ...(registrationRead ? { requestId: registry.requestId, operator: registry.operator } : {}),
    evidence: registry.evidence,
    // The application and procedure behind a registration are customs data too.
    ...(customsView === 'full'
      ? { applicationId: registry.applicationId, procedure: registry.procedure }
      : {}),
    at: registry.at,
    ...(personal && registrationRead ? { ownerId: registry.ownerId, msisdn: registry.msisdn } : {}),
    ...(personal && !registrationRead ? { ownerWithheld: REGISTRATION_WITHHELD } : {}),
  };
}

function waitingInSight(p: PendingEntry, personal: boolean) {
  return {
    requestId: p.request.requestId,
    operator: p.request.operator,
    stage: p.stage,
    reason: p.reason,
    since: p.since,
    deadline: p.deadline,
    ...(personal ? { ownerId: p.request.ownerId ?? null, msisdn: p.request.msisdn ?? null } : {}),
  };
}
