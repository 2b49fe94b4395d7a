/**
 * GET /v1/audit — the audit trail, for admins, filtered by time, actor and action; or, with `iin`,
 * the purges of that owner: the trail names a purged owner only by pseudonym (issue 22, point 3),
 * and this is how an admin checks whether an IIN was purged. That check is audited too, naming
 * the owner by pseudonym.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AuditLog, purgesNaming } from '../../security/audit-log.js';
import type { TokenService } from '../../security/tokens.js';
import type { Store } from '../../store/store.js';
import { basisOf, requirePermission } from '../auth.js';

export interface AuditRouteOptions {
  readonly tokens: TokenService;
  readonly audit: Pick<AuditLog, 'query' | 'record'>;
  /** The pseudonyms a purged owner is named by, and the purges naming them. */
  readonly store: Store;
}

export async function auditRoutes(app: FastifyInstance, deps: AuditRouteOptions): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/audit',
    {
      schema: {
        summary: 'Audit entries, oldest first',
        querystring: z.object({
          from: z.iso.datetime().or(z.iso.date()).optional(),
          to: z.iso.datetime().or(z.iso.date()).optional(),
          actor: z.string().max(64).optional(),
          action: z.string().max(64).optional(),
          limit: z.coerce.number().int().min(1).max(10_000).default(1000),
          iin: z
            .string()
            .regex(/^\d{12}$/, 'must be a 12-digit IIN/BIN')
            .optional()
            .describe('only the purges of this owner (the trail names them by pseudonym)'),
        }),
      },
      preHandler: requirePermission(deps.tokens, 'readAudit'),
    },
    async (request) => {
      const { from, to, actor, action, limit, iin } = request.query;
      if (iin !== undefined) {
        const pseudonyms = deps.store.pseudonyms.all(iin);
        const who = request.actor!;
        await deps.audit.record({
          actor: who.name,
          role: who.role,
          action: 'audit.purge-check',
          basis: basisOf(request),
          target: pseudonyms[0] ?? null,
        });
        const purges = purgesNaming(deps.store, pseudonyms).slice(0, limit);
        return { count: purges.length, entries: purges };
      }
      const entries = deps.audit.query({
        limit,
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(actor === undefined ? {} : { actor }),
        ...(action === undefined ? {} : { action }),
      });
      return { count: entries.length, entries };
    },
  );
}
