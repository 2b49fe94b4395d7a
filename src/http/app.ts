/**
 * The Fastify control plane. Health and readiness are open; everything else is under /v1.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from '../log.js';

export interface ServiceInfo {
  readonly version: string;
  readonly embeddedKafka: boolean;
  readonly brokers: string;
  readonly topics: Record<string, string>;
  readonly partitions: number;
  readonly workers: number;
}

export interface ControlPlaneDeps {
  readonly log: Logger;
  readonly info: ServiceInfo;
  /** Why the service is not ready, or null when it is. */
  readonly notReadyReason: () => string | null;
  readonly ownedPartitions: () => readonly number[];
}

export async function buildControlPlane(deps: ControlPlaneDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request logs would drown the scrape traffic; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reason = deps.notReadyReason();
    if (reason !== null) {
      return reply.code(503).type('application/problem+json').send({
        type: 'https://imeiflow.kz/problems/not-ready',
        title: 'Not ready',
        status: 503,
        detail: reason,
      });
    }
    return { status: 'ready', partitions: deps.ownedPartitions() };
  });
  app.get('/v1/info', async () => ({ ...deps.info, partitionsOwned: deps.ownedPartitions() }));
  return app;
}
