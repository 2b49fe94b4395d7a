/**
 * POST /v1/purge — destruction on request of an IMEI's, an owner's (IIN/BIN) or a customs
 * application's data, cluster-wide, for admins with a basis (src/retention/purge-orders.ts says
 * how every instance carries it out, and the README's "Confidential data" what it destroys).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type PurgeKind, purgeScope, purgeTargetOf } from '../../domain/retention.js';
import { messageOf } from '../../errors.js';
import { orderPurge, type PurgeChannel } from '../../retention/purge-orders.js';
import type { TokenService } from '../../security/tokens.js';
import type { Store } from '../../store/store.js';
import { basisOf, requirePermission } from '../auth.js';
import { sendProblem } from '../problem.js';

const body = z
  .strictObject({
    imei: z.string().max(64).optional().describe('an IMEI (14, 15 or 16 digits): the device'),
    iin: z.string().max(64).optional().describe('an IIN/BIN: the owner'),
    application: z.string().max(256).optional().describe('a customs application ID'),
  })
  .refine((b) => [b.imei, b.iin, b.application].filter((v) => v !== undefined).length === 1, {
    message: 'name exactly one of imei, iin, application',
  });

export interface PurgeRouteOptions {
  readonly tokens: TokenService;
  /** Where purges are ordered (src/retention/purge-orders.ts); absent without Kafka. */
  readonly purge: PurgeChannel | undefined;
  /** The pseudonyms an owner's purge names it by (src/store/pseudonyms.ts). */
  readonly store: Pick<Store, 'pseudonyms'>;
}

export async function purgeRoutes(app: FastifyInstance, deps: PurgeRouteOptions): Promise<void> {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/v1/purge',
    {
      schema: {
        summary:
          'Destroy the data of an IMEI, an owner (IIN/BIN) or a customs application (needs X-Basis; audited)',
        description:
          'Accepted (202) once the order is in the audit trail, which every instance reads and carries out: ' +
          'its own copies at once, the registry and waiting requests through the owner of each device ' +
          '(a waiting request is answered rejected / purged). `destroys` says what goes. ' +
          'Only data recorded before the order; the audit trail itself is kept (seed 001 §25, §31).',
        body,
        headers: z.object({ 'x-basis': z.string().max(200).optional() }).passthrough(),
      },
      preHandler: requirePermission(deps.tokens, 'purge'),
    },
    async (request, reply) => {
      const actor = request.actor!;
      const basis = basisOf(request);
      if (basis === null)
        return sendProblem(
          reply,
          'basis-required',
          'say why in the X-Basis header (the order or request number)',
        );
      const [kind, value] = (
        [
          ['imei', request.body.imei],
          ['iin', request.body.iin],
          ['application', request.body.application],
        ] as const
      ).find(([, v]) => v !== undefined) as [PurgeKind, string];
      const parsed = purgeTargetOf(kind, value, (iin) => deps.store.pseudonyms.all(iin));
      if (!parsed.ok)
        return sendProblem(reply, kind === 'imei' ? 'invalid-imei' : 'invalid-request', parsed.error);
      if (deps.purge === undefined)
        return sendProblem(reply, 'not-ready', 'this control plane is not connected to Kafka');
      let orderedAt: string;
      try {
        const entry = await orderPurge(
          { target: parsed.target, actor: actor.name, role: actor.role, basis },
          deps.purge,
        );
        orderedAt = entry.at;
      } catch (error) {
        return sendProblem(reply, 'kafka-unavailable', messageOf(error));
      }
      return reply.code(202).send({
        status: 'accepted',
        kind,
        target: value.trim(),
        orderedAt,
        destroys: purgeScope(parsed.target),
      });
    },
  );
}
