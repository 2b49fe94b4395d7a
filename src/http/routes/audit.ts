/** GET /v1/audit — the audit trail, for admins, filtered by time, actor and action. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AuditLog } from '../../security/audit-log.js';
import type { TokenService } from '../../security/tokens.js';
import { requirePermission } from '../auth.js';

export interface AuditRouteOptions {
  readonly tokens: TokenService;
  readonly audit: Pick<AuditLog, 'query'>;
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
        }),
      },
      preHandler: requirePermission(deps.tokens, 'readAudit'),
    },
    async (request) => {
      const { from, to, actor, action, limit } = request.query;
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
