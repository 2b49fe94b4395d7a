/**
 * The Fastify control plane: health, readiness and metrics (open), the /v1 API (bearer tokens
 * with roles), the reviewers' page, and the OpenAPI document at /docs/json (browsable at /docs).
 * Every error is RFC 7807 problem+json; every answer carries the security headers
 * (security-headers.ts); every refused request is counted and audited (auth.ts).
 */
import { join } from 'node:path';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { deadlinePolicy } from '../config/config.js';
import { ruleSettingsOf } from '../domain/rule-settings.js';
import type { Metrics } from '../metrics/metrics.js';
import { AccessRefusals } from '../security/access-refusals.js';
import { kgdExportStatus } from '../store/kgd-exports.js';
import { isStoreFull, withCommitReasons } from '../store/store-full.js';
import type { ControlPlaneDeps } from './deps.js';
import { sendProblem } from './problem.js';
import { auditRoutes } from './routes/audit.js';
import { deviceRoutes } from './routes/devices.js';
import { loadRoutes } from './routes/loads.js';
import { purgeRoutes } from './routes/purge.js';
import { reviewPageRoutes } from './routes/review-page.js';
import { reviewRoutes } from './routes/reviews.js';
import { statusRoutes } from './routes/status.js';
import { verifyRoutes } from './routes/verify.js';
import { securityHeaders } from './security-headers.js';
import { CertificateIdentities, httpsOptions } from './tls.js';

export type { ControlPlaneDeps, ServiceInfo } from './deps.js';

/**
 * The configured certificate holders' idle clocks start when the cluster first knows them (seed
 * 001 §14; src/security/tokens.ts). The service builds the control plane once its tables have
 * caught up, so a holder the cluster knows is not enrolled again. A failure to send is logged: the
 * holder is enrolled on their first use instead.
 */
async function enrolCertificateHolders(deps: ControlPlaneDeps): Promise<void> {
  const holders = deps.config.http.tls.clientCertificates;
  const log = deps.log.child({ component: 'http' });
  for (const holder of holders) {
    if (holder.role === 'operator' && holder.operator === undefined)
      log.warn(
        { name: holder.name },
        'a certificate holder of role operator names no operator: it reads no personal data (add "operator" to its http.tls.clientCertificates entry)',
      );
  }
  if (holders.length === 0) return;
  try {
    await deps.tokens.enrolCertificates(holders.map((h) => h.iin));
  } catch (error) {
    log.warn({ err: error }, 'certificate holders not enrolled now: each is on their first use');
  }
}

/** The Fastify instance, over HTTPS when TLS is configured, knowing certificate holders by their certificate. */
function createServer(deps: ControlPlaneDeps): FastifyInstance {
  const options = {
    loggerInstance: deps.log.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request logs would drown the scrape traffic; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
  };
  const https = httpsOptions(deps.config.http.tls);
  // Fastify types an HTTPS instance apart from an HTTP one; the routes use neither's specifics.
  const app: FastifyInstance =
    https === null ? Fastify(options) : (Fastify({ ...options, https }) as unknown as FastifyInstance);
  if (https?.requestCert === true) {
    const identities = new CertificateIdentities(deps.config.http.tls.clientCertificates);
    app.addHook('onRequest', async (request) => {
      request.peer = identities.identify(request.raw.socket);
    });
  }
  return app;
}

/** Counts, audits and blocks refused accounts (src/security/access-refusals.ts). */
function accessRefusalsOf(deps: ControlPlaneDeps): AccessRefusals {
  const { security } = deps.config;
  return new AccessRefusals({
    block: (name, now) => deps.tokens.block(name, now),
    audit: (event, now) => deps.audit.record(event, now),
    counters: deps.metrics,
    log: deps.log.child({ component: 'access' }),
    limit: security.refusalLimit,
    windowMs: security.refusalWindowMs,
  });
}

/** The OpenAPI document at /docs/json, browsable at /docs. */
async function registerDocs(app: FastifyInstance, version: string): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'imeiflow control plane',
        description:
          'IMEI verification for the national IMEI database (БДИК). Errors are RFC 7807 problem+json.',
        version,
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // Swagger UI's own policy (its scripts by hash), framed by nobody, without
    // upgrade-insecure-requests (it would send a plain-HTTP control plane's assets to https), and
    // with inline styles: Swagger UI sets style attributes at run time, which no fixed hash covers
    // (Chromium refuses them under its shipped policy). The docs show only the OpenAPI document;
    // scripts stay limited to Swagger UI's own.
    staticCSP: true,
    transformStaticCSP: (header) =>
      header
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
        .replace(/style-src [^;]*;/, "style-src 'self' 'unsafe-inline';")
        .replace(/\s*upgrade-insecure-requests;?/, ''),
  });
}

function observeDurations(app: FastifyInstance, duration: Metrics['httpDuration']): void {
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
}

/**
 * Every error as problem+json: invalid requests 400 (415, 413 for a body of the wrong type or
 * size), a full store 507 (and the service stops), anything else 500 with the details logged.
 */
function problemOfError(onStoreFull: ControlPlaneDeps['onStoreFull']) {
  return async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map(
        (v) => `${v.instancePath || error.validationContext || 'body'}: ${v.message}`,
      );
      return sendProblem(reply, 'invalid-request', issues.join('; '), { issues });
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendProblem(reply, 'payload-too-large', error.message);
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return sendProblem(reply, 'unsupported-media-type', error.message);
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, 'invalid-request', error.message);
    }
    const explained = await withCommitReasons(error);
    if (isStoreFull(explained)) {
      // A load that filled the store: the service stops taking input (STORE_FULL, logged once),
      // once this answer is out.
      reply.raw.once('close', () => onStoreFull?.(explained));
      return sendProblem(
        reply,
        'store-full',
        'the store is full and the service is stopping; what this request wrote may be incomplete: send it again once the service runs with room',
      );
    }
    request.log.error({ err: explained }, 'request failed');
    return sendProblem(reply, 'internal', 'the request failed; the log has the details');
  };
}

/**
 * The routes, each a plugin given only what it uses. Registered in this order, which is also the
 * OpenAPI document's.
 */
async function registerRoutes(app: FastifyInstance, deps: ControlPlaneDeps): Promise<void> {
  const { store, tokens, audit } = deps;
  const { utcOffsetMinutes } = deps.config.pending;
  const registryOf = deps.registryOf ?? ((body: string) => store.registry.get(body));
  const rules = ruleSettingsOf(deps.config.rules);
  await app.register(statusRoutes, {
    info: deps.info,
    notReadyReason: deps.notReadyReason,
    ownedPartitions: deps.ownedPartitions,
    registry: deps.metrics.registry,
    tokens,
    kgdExport: (now) => kgdExportStatus(store, now, utcOffsetMinutes),
  });
  await app.register(reviewPageRoutes);
  await app.register(deviceRoutes, { store, registryOf, rules, tokens, audit });
  const { dryRunLimit, dryRunWindowMs } = deps.config.security;
  await app.register(verifyRoutes, { store, registryOf, rules, dryRunLimit, dryRunWindowMs, tokens, audit });
  await app.register(loadRoutes, {
    target: deps.loads === undefined ? { kind: 'local', store } : { kind: 'cluster', cluster: deps.loads },
    uploadsDir: join(deps.config.dataDir, 'uploads'),
    maxUploadBytes: deps.config.http.maxUploadBytes,
    utcOffsetMinutes,
    tokens,
    audit,
  });
  await app.register(reviewRoutes, {
    store,
    registryOf,
    policy: deadlinePolicy(deps.config),
    rules,
    commands: deps.commands,
    tokens,
    audit,
  });
  await app.register(auditRoutes, { tokens, audit, store });
  await app.register(purgeRoutes, { tokens, purge: deps.purge, store });
}

export async function buildControlPlane(deps: ControlPlaneDeps): Promise<FastifyInstance> {
  const app = createServer(deps);
  await enrolCertificateHolders(deps);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Before any plugin: their routes inherit the hooks registered so far.
  securityHeaders(app);
  // A browser sends text/plain (like the two form encodings, which have no parser here) to any
  // site without asking first (a CORS "simple request"): no route takes one, so a hostile page
  // cannot post to the API with a visitor's client certificate. The JSON routes get 415.
  app.removeContentTypeParser('text/plain');
  app.decorate('accessRefusals', accessRefusalsOf(deps));
  await registerDocs(app, deps.info.version);
  observeDurations(app, deps.metrics.httpDuration);
  app.setErrorHandler(problemOfError(deps.onStoreFull));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 'not-found', `no route ${request.method} ${request.url}`),
  );
  await registerRoutes(app, deps);
  return app;
}
