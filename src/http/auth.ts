/**
 * Authentication and role checks for control-plane routes: a client certificate mapped to a
 * person (people, mutual TLS: tls.ts), else a bearer token (machines, and people without one).
 * A certificate holder's account is checked on every request like a token's — revoked, or idle
 * too long (src/security/tokens.ts) — so a revocation reaches connections already open.
 * Every refusal goes through `refuse`: counted, audited and, for an account refused too often,
 * blocked (src/security/access-refusals.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessRefusals, RefusalReason, RefusedAccount } from '../security/access-refusals.js';
import { allows, type Permission, type Role } from '../security/roles.js';
import type { TokenService } from '../security/tokens.js';
import { type ProblemType, sendProblem } from './problem.js';
import type { PeerIdentity } from './tls.js';

export interface Actor {
  readonly name: string;
  readonly role: Role;
  /** The operator an `operator` account acts for; null for other roles and unbound operators. */
  readonly operator: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
    /** Set by the control plane when it asks for client certificates. */
    peer?: PeerIdentity;
  }
  interface FastifyInstance {
    /** Decorated by buildControlPlane (app.ts). */
    accessRefusals: AccessRefusals;
  }
}

const PROBLEM_OF: Readonly<Record<RefusalReason, ProblemType>> = {
  missing: 'unauthorized',
  unknown: 'unauthorized',
  revoked: 'token-revoked',
  expired: 'token-expired',
  blocked: 'account-blocked',
  certificate: 'certificate-refused',
  forbidden: 'forbidden',
  unbound: 'operator-unbound',
  'rate-limited': 'rate-limited',
};

/** A certificate holder's revocation and idle block have problem types of their own. */
function problemOf(reason: RefusalReason, account: RefusedAccount | null): ProblemType {
  if (account?.by === 'certificate') {
    if (reason === 'revoked') return 'certificate-revoked';
    if (reason === 'expired') return 'certificate-expired';
  }
  return PROBLEM_OF[reason];
}

/** Who a request comes from, or why nobody it may act as. */
export type Identity =
  | { readonly ok: true; readonly actor: Actor; readonly by: RefusedAccount['by'] }
  | {
      readonly ok: false;
      readonly reason: Exclude<RefusalReason, 'forbidden' | 'unbound' | 'rate-limited'>;
      readonly detail: string;
      readonly account: RefusedAccount | null;
    };

/** Whether the request presents any credential (a client certificate or an Authorization header). */
export function presentsCredentials(request: FastifyRequest): boolean {
  return (
    (request.peer !== undefined && request.peer.kind !== 'none') ||
    request.headers.authorization !== undefined
  );
}

/** The request's certificate or token, judged: a presented certificate decides (tls.ts). */
export function identify(tokens: TokenService, request: FastifyRequest): Identity {
  const peer = request.peer;
  if (peer?.kind === 'refused')
    return { ok: false, reason: 'certificate', detail: peer.detail, account: null };
  if (peer?.kind === 'person') {
    const account = { name: peer.name, role: peer.role, by: 'certificate' as const };
    const state = tokens.authenticateCertificate(peer.iin);
    if (state.ok)
      return {
        ok: true,
        actor: { name: peer.name, role: peer.role, operator: peer.operator },
        by: 'certificate',
      };
    return state.problem === 'revoked'
      ? {
          ok: false,
          reason: 'revoked',
          detail: 'this certificate’s holder was revoked (imeiflow cert revoke)',
          account,
        }
      : {
          ok: false,
          reason: 'expired',
          detail:
            'this certificate’s holder did not use the service for too long and is blocked; an admin can reinstate them (imeiflow cert reinstate)',
          account,
        };
  }
  const auth = tokens.authenticate(request.headers.authorization);
  if (auth.ok)
    return { ok: true, actor: { name: auth.name, role: auth.role, operator: auth.operator }, by: 'token' };
  switch (auth.problem) {
    case 'missing':
    case 'unknown':
      return { ok: false, reason: auth.problem, detail: 'send Authorization: Bearer <token>', account: null };
    case 'revoked':
      return {
        ok: false,
        reason: 'revoked',
        detail: 'this token was revoked',
        account: { name: auth.name, role: auth.role, by: 'token' },
      };
    case 'expired':
      return {
        ok: false,
        reason: 'expired',
        detail: 'this token was not used for too long and is blocked; ask an admin for a new one',
        account: { name: auth.name, role: auth.role, by: 'token' },
      };
    case 'blocked':
      return {
        ok: false,
        reason: 'blocked',
        detail: 'this account was blocked after repeated refused requests; an admin can unblock it',
        account: { name: auth.name, role: auth.role, by: 'token' },
      };
  }
}

/** Answer a refusal as problem+json once it is counted and audited (and the account blocked, if due). */
export async function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  reason: RefusalReason,
  detail: string,
  account: RefusedAccount | null,
  extra: Record<string, unknown> = {},
): Promise<FastifyReply> {
  await request.server.accessRefusals.record({
    reason,
    account,
    address: request.ip,
    request: `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`,
    detail,
  });
  return sendProblem(reply, problemOf(reason, account), detail, extra);
}

/** The account of the request's authenticated actor, as refusals are held against it. */
function accountOf(request: FastifyRequest): RefusedAccount {
  const { name, role } = request.actor!;
  return { name, role, by: request.peer?.kind === 'person' ? 'certificate' : 'token' };
}

/**
 * Refuse an authenticated actor something its role does not allow (`forbidden`), or its tenancy
 * (`unbound`: an operator account that names no operator asked for personal data).
 */
export function forbid(
  request: FastifyRequest,
  reply: FastifyReply,
  detail: string,
  reason: 'forbidden' | 'unbound' = 'forbidden',
): Promise<FastifyReply> {
  return refuse(request, reply, reason, detail, accountOf(request));
}

/** Refuse an authenticated actor past a rate limit: 429 with Retry-After. */
export function rateLimited(
  request: FastifyRequest,
  reply: FastifyReply,
  detail: string,
  limit: { readonly limit: number; readonly windowMs: number; readonly retryAfterMs: number },
): Promise<FastifyReply> {
  const retryAfterSeconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
  reply.header('retry-after', String(retryAfterSeconds));
  return refuse(request, reply, 'rate-limited', detail, accountOf(request), {
    limit: limit.limit,
    windowMs: limit.windowMs,
    retryAfterSeconds,
  });
}

/** A preHandler that admits only a certificate or a token whose role has `permission`. */
export function requirePermission(tokens: TokenService, permission: Permission) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const identity = identify(tokens, request);
    if (!identity.ok) {
      await refuse(request, reply, identity.reason, identity.detail, identity.account);
      return;
    }
    const { actor, by } = identity;
    if (!allows(actor.role, permission)) {
      await refuse(request, reply, 'forbidden', `role ${actor.role} may not ${permission}`, {
        name: actor.name,
        role: actor.role,
        by,
      });
      return;
    }
    request.actor = actor;
  };
}

/** The X-Basis header (case or request number justifying a read of personal data), if any. */
export function basisOf(request: FastifyRequest): string | null {
  const value = request.headers['x-basis'];
  const basis = Array.isArray(value) ? value[0] : value;
  return basis === undefined || basis.trim().length === 0 ? null : basis.trim().slice(0, 200);
}
