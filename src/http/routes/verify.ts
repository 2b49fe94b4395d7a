/**
 * POST /v1/verify — decide a request from local state, rule by rule; nothing is published.
 *
 * A dry run is a read (issue 22): it consults the registry, other requests' outcomes and KGD's
 * declarations, so its answer follows the role's customs view and tenancy as GET /v1/devices does
 * (src/security/dry-run-view.ts says what each account sees; no answer tells a guessed owner
 * right from wrong without a basis and, for an operator, a waiting request of its own). Every dry
 * run is audited — who, the IMEI, whether the registry was consulted (seed 001 §31: every request
 * of every user is logged) — and rate-limited per account (`security.dryRunLimit`).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { normaliseImei } from '../../domain/imei.js';
import { validateRequest } from '../../domain/request.js';
import type { RuleSettings } from '../../domain/rule-settings.js';
import type { RegistryEntry, VerifyRequest } from '../../domain/types.js';
import type { AuditLog } from '../../security/audit-log.js';
import { customsViewOf } from '../../security/customs-view.js';
import { dryRunAnswer, observeDryRun } from '../../security/dry-run-view.js';
import { RateLimiter } from '../../security/rate-limit.js';
import { allows } from '../../security/roles.js';
import { type Tenancy, tenancyOf, UNBOUND_DETAIL } from '../../security/tenancy.js';
import type { TokenService } from '../../security/tokens.js';
import { lmdbIndexView } from '../../store/index-view.js';
import type { Store } from '../../store/store.js';
import { type Actor, basisOf, forbid, rateLimited, requirePermission } from '../auth.js';
import { sendProblem } from '../problem.js';

function windowText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

export interface VerifyRouteOptions {
  /** The local state a dry run decides from (src/store/index-view.ts), and the waiting requests. */
  readonly store: Store;
  /** A device's registration wherever its partition is owned. */
  readonly registryOf: (body: string) => RegistryEntry | undefined;
  readonly rules: RuleSettings;
  /** At most this many dry runs per account (security.dryRunLimit)… */
  readonly dryRunLimit: number;
  /** …within this window (security.dryRunWindowMs). */
  readonly dryRunWindowMs: number;
  readonly tokens: TokenService;
  readonly audit: Pick<AuditLog, 'record'>;
}

const schema = {
  summary: 'Dry-run a verification request',
  description:
    'The body is a verification request as on imei.verify.requests. Returns the decision and the rules consulted, as the role may see them (`customsView`: no application, procedure or grounds in the reduced view). ' +
    'For a registered device, what rule 5 decides from the recorded owner and phone (confirmed, owner_conflict, whether БДИК is told again) is answered, with the owner and phone as `registeredOwner`, only to roles that may read personal data, with an X-Basis header, and for an operator only for a device it registered or with a waiting request of its own for the device; anyone else gets the outcome `withheld`, whatever owner the request names. ' +
    'Every dry run is audited (verify.dry-run, or verify.read-personal when the owner-dependent decision is shown) and counts against the account’s limit (security.dryRunLimit per security.dryRunWindowMs; 429 rate-limited past it).',
  body: z.record(z.string(), z.unknown()),
  headers: z.object({ 'x-basis': z.string().max(200).optional() }).passthrough(),
};

/** Who asks, for whom, and why (the basis, or null). */
interface Caller {
  readonly actor: Actor;
  readonly tenancy: Tenancy;
  readonly basis: string | null;
}

export async function verifyRoutes(app: FastifyInstance, options: VerifyRouteOptions): Promise<void> {
  const { dryRunLimit, dryRunWindowMs } = options;
  const limiter = new RateLimiter(dryRunLimit, dryRunWindowMs);
  app
    .withTypeProvider<ZodTypeProvider>()
    .post(
      '/v1/verify',
      { schema, preHandler: requirePermission(options.tokens, 'dryRun') },
      async (request, reply) => {
        const actor = request.actor!;
        const retryAfterMs = limiter.take(actor.name, Date.now());
        if (retryAfterMs !== null) {
          return rateLimited(
            request,
            reply,
            `more than ${dryRunLimit} dry runs within ${windowText(dryRunWindowMs)} from this account; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
            { limit: dryRunLimit, windowMs: dryRunWindowMs, retryAfterMs },
          );
        }
        const basis = basisOf(request);
        if (basis !== null && !allows(actor.role, 'readPersonalData')) {
          return forbid(request, reply, `role ${actor.role} may not read personal data`);
        }
        const tenancy = tenancyOf(actor);
        if (basis !== null && tenancy.kind === 'unbound')
          return forbid(request, reply, UNBOUND_DETAIL, 'unbound');
        const audit = auditOf(options.audit, actor, basis);
        const parsed = validateRequest(request.body);
        if (parsed.kind === 'undecodable') {
          await audit('an undecodable request', 'not consulted', false);
          return sendProblem(reply, 'invalid-request', parsed.error);
        }
        if (parsed.kind === 'invalid') {
          await audit(parsed.imei, 'not consulted', false);
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
        const { registry, ...answer } = dryRun(options, parsed.request, { actor, tenancy, basis });
        // The IMEI the request names (rule 10's decision would name the earlier request's).
        const named = normaliseImei(parsed.request.imei);
        await audit(named.ok ? named.imei : parsed.request.imei, registry, answer.personalData);
        return answer;
      },
    );
}

/** Records a dry run: `registry` says whether the registry was consulted, and how. */
function auditOf(audit: VerifyRouteOptions['audit'], actor: Actor, basis: string | null) {
  return (target: string, registry: string, personal: boolean) =>
    audit.record({
      actor: actor.name,
      role: actor.role,
      action: personal ? 'verify.read-personal' : 'verify.dry-run',
      basis,
      // Never the owner or phone the request named: the trail is kept for good (seed 001 §25)
      // and a purge would leave them in it.
      target: `${target} (registry ${registry})`,
    });
}

/** The request decided from local state, as the caller may see the decision. */
function dryRun(options: VerifyRouteOptions, request: VerifyRequest, caller: Caller) {
  const { store } = options;
  store.env.resetReadTxn();
  const observed = observeDryRun(
    request,
    // The device's registration wherever its partition is owned, as GET /v1/devices reads it:
    // this instance's registry holds only the partitions it owns.
    { ...lmdbIndexView(store), registered: options.registryOf },
    options.rules,
  );
  const { actor, tenancy, basis } = caller;
  return dryRunAnswer(observed, {
    role: actor.role,
    tenancy,
    customsView: customsViewOf(actor.role),
    readsPersonalData: allows(actor.role, 'readPersonalData'),
    basis,
    waiting: (body) => store.reviews.get(body) ?? [],
  });
}
