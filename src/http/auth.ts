/**
 * Authentication and role checks for control-plane routes: a client certificate mapped to a
 * person (people, mutual TLS: tls.ts), else a bearer token (machines, and people without one).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allows, type Permission, type Role } from '../security/roles.js';
import type { TokenService } from '../security/tokens.js';
import { sendProblem } from './problem.js';
import type { PeerIdentity } from './tls.js';

export interface Actor {
  readonly name: string;
  readonly role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
    /** Set by the control plane when it asks for client certificates. */
    peer?: PeerIdentity;
  }
}

/** A preHandler that admits only a certificate or a token whose role has `permission`. */
export function requirePermission(tokens: TokenService, permission: Permission) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const peer = request.peer;
    if (peer?.kind === 'refused') {
      await sendProblem(reply, 'certificate-refused', peer.detail);
      return;
    }
    if (peer?.kind === 'person') {
      if (!allows(peer.role, permission)) {
        await sendProblem(reply, 'forbidden', `role ${peer.role} may not ${permission}`);
        return;
      }
      request.actor = { name: peer.name, role: peer.role };
      return;
    }
    const auth = tokens.authenticate(request.headers.authorization);
    if (!auth.ok) {
      switch (auth.problem) {
        case 'revoked':
          await sendProblem(reply, 'token-revoked', 'this token was revoked');
          return;
        case 'expired':
          await sendProblem(
            reply,
            'token-expired',
            'this token was not used for too long and is blocked; ask an admin for a new one',
          );
          return;
        default:
          await sendProblem(reply, 'unauthorized', 'send Authorization: Bearer <token>');
          return;
      }
    }
    if (!allows(auth.role, permission)) {
      await sendProblem(reply, 'forbidden', `role ${auth.role} may not ${permission}`);
      return;
    }
    request.actor = { name: auth.name, role: auth.role };
  };
}

/** The X-Basis header (case or request number justifying a read of personal data), if any. */
export function basisOf(request: FastifyRequest): string | null {
  const value = request.headers['x-basis'];
  const basis = Array.isArray(value) ? value[0] : value;
  return basis === undefined || basis.trim().length === 0 ? null : basis.trim().slice(0, 200);
}
