/**
 * What anyone may ask: /healthz, /readyz and /metrics (open, and not in the OpenAPI document), and
 * GET /v1/info, which tells authenticated callers more.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { TokenService } from '../../security/tokens.js';
import type { KgdExportStatus } from '../../store/kgd-exports.js';
import { identify, presentsCredentials, refuse } from '../auth.js';
import type { ServiceInfo } from '../deps.js';
import { sendProblem } from '../problem.js';

export interface StatusRouteOptions {
  readonly info: ServiceInfo;
  /** Why the service is not ready, or null when it is. */
  readonly notReadyReason: () => string | null;
  readonly ownedPartitions: () => readonly number[];
  /** The metrics registry /metrics exposes. */
  readonly registry: Registry;
  readonly tokens: TokenService;
  /** The KGD monthly exports as of `now`: the last month loaded, the one due (seed 000 §11). */
  readonly kgdExport: (now: Date) => KgdExportStatus;
}

const infoSchema = {
  summary:
    'Version and readiness; with a token or certificate of any role also brokers, topics and the last KGD export',
  description:
    'Anonymous callers get what /readyz already tells anyone: the version, whether the instance is ready (or why not) and the partitions it owns. ' +
    'Kafka brokers, topic names and the KGD export status are for authenticated callers of any role: they map the system for an attacker. ' +
    'A credential that is sent must be valid: a refused one is a refusal (401), not an anonymous call.',
  // Either anonymous or a bearer token (OpenAPI: an empty requirement makes it optional).
  security: [{}, { bearer: [] }],
};

export async function statusRoutes(app: FastifyInstance, options: StatusRouteOptions): Promise<void> {
  const { info, notReadyReason, ownedPartitions, registry } = options;
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const reason = notReadyReason();
    if (reason !== null) return sendProblem(reply, 'not-ready', reason);
    return { status: 'ready', partitions: ownedPartitions() };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
  app.get('/v1/info', { schema: infoSchema }, async (request, reply) => {
    const reason = notReadyReason();
    const readiness = {
      version: info.version,
      ready: reason === null,
      ...(reason === null ? {} : { notReadyReason: reason }),
      partitionsOwned: ownedPartitions(),
    };
    if (!presentsCredentials(request)) return readiness;
    const identity = identify(options.tokens, request);
    if (!identity.ok) return refuse(request, reply, identity.reason, identity.detail, identity.account);
    // Seed 000 §11: the month each export covers, not who loaded it (that is in the audit trail).
    return { ...info, ...readiness, kgdExport: options.kgdExport(new Date()) };
  });
}
