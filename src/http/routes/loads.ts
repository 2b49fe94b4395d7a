/**
 * POST /v1/tac, /v1/declarations, /v1/blocklist — the same loads as the CLI, over HTTP. The file
 * is the request body (`text/csv`, or the XLSX type for declarations), streamed to a temporary
 * file and loaded from there, so a large upload never sits in memory. The body is counted as it
 * arrives: past `http.maxUploadBytes` the upload is refused (413), its partial file removed and
 * the attempt audited. (The route's stream parser hands Fastify's `bodyLimit` nothing to count.)
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseYearMonth } from '../../domain/kgd-export.js';
import { isImeiflowError, messageOf } from '../../errors.js';
import { type LoadKind, type LoadTarget, load, loadTarget } from '../../loaders/loads.js';
import type { AuditLog } from '../../security/audit-log.js';
import type { Permission } from '../../security/roles.js';
import type { TokenService } from '../../security/tokens.js';
import { basisOf, requirePermission } from '../auth.js';
import { sendProblem } from '../problem.js';
import { receiveUpload, UploadTooLarge } from '../upload-file.js';

export interface LoadRouteOptions {
  /** Where the rows go: the topics every instance reads, or a store (tests, tools). */
  readonly target: LoadTarget;
  /** Where an upload is written while it loads; removed once loaded or refused. */
  readonly uploadsDir: string;
  /** The largest upload taken (http.maxUploadBytes). */
  readonly maxUploadBytes: number;
  /** The offset from UTC in which a KGD export's month is counted (pending.utcOffsetMinutes). */
  readonly utcOffsetMinutes: number;
  readonly tokens: TokenService;
  readonly audit: Pick<AuditLog, 'record'>;
}

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
/**
 * What a load takes. None of these is a type a browser sends to another site without asking it
 * first (a CORS preflight): `text/plain`, `application/x-www-form-urlencoded` and
 * `multipart/form-data` are, so a hostile page visited by someone holding a client certificate
 * could post a block list or a KGD file in their name. For these types the browser sends an
 * OPTIONS request first, which this server never answers with CORS permission, and the POST never
 * leaves the browser. Refusing the types was chosen over checking `Origin`: it needs no list of
 * the control plane's own origins (it is reached by service names, ingresses and port-forwards
 * alike), and scripts and the CLI's peers, which send no `Origin`, are judged the same way.
 */
const CSV_TYPES = ['text/csv', 'application/octet-stream'];

/** The media type of a request, lower-cased, without parameters. */
function mediaTypeOf(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** A KGD export's month and name, as the CLI's `--month` and file name (seed 000 §11). */
const exportQuery = z.object({
  month: z
    .string()
    .refine((text) => !(parseYearMonth(text) instanceof Error), 'must be a month, YYYY-MM')
    .optional()
    .describe(
      "The month this monthly export covers; default: the month more than half of its decisions' dates fall in.",
    ),
  file: z.string().min(1).max(255).optional().describe('The file’s name, recorded with the month.'),
});

interface LoadRoute {
  readonly url: string;
  readonly what: string;
  readonly permission: Permission;
  readonly xlsx: boolean;
  readonly kind: LoadKind;
}

/** The audit action of a load: `load.tac`, `load.declarations`, `load.blocklist`. */
const actionOf = (route: LoadRoute) => `load.${route.url.slice('/v1/'.length)}`;

const ROUTES: readonly LoadRoute[] = [
  { url: '/v1/tac', what: 'TAC table', permission: 'loadTac', xlsx: false, kind: 'tac' },
  {
    url: '/v1/declarations',
    what: 'KGD declarations',
    permission: 'loadDeclarations',
    xlsx: true,
    kind: 'declarations',
  },
  { url: '/v1/blocklist', what: 'block list', permission: 'loadBlocklist', xlsx: false, kind: 'blocklist' },
];

export async function loadRoutes(app: FastifyInstance, options: LoadRouteOptions): Promise<void> {
  // The load routes take their bodies as streams (the handler writes them to disk); only they do:
  // a JSON route sent a file's type answers 415, as for any type it does not take.
  app.addContentTypeParser([...CSV_TYPES, XLSX_TYPE], (_request, payload, done) => done(null, payload));
  for (const route of ROUTES) {
    app.post(
      route.url,
      {
        schema: schemaOf(route),
        // Before the body is read, and before authentication: nothing of a refused type is parsed.
        onRequest: async (request, reply) => {
          const type = mediaTypeOf(request);
          if (!CSV_TYPES.includes(type) && !(route.xlsx && type === XLSX_TYPE)) {
            return sendProblem(
              reply,
              'unsupported-media-type',
              `send the ${route.what} as text/csv${route.xlsx ? ' or XLSX' : ''}, not ${type || 'nothing'}`,
            );
          }
        },
        preHandler: requirePermission(options.tokens, route.permission),
      },
      async (request, reply) => loadUpload(options, route, request, reply),
    );
  }
}

function schemaOf(route: LoadRoute) {
  return {
    summary: `Load a ${route.what} file for the whole cluster (as the CLI does)`,
    description: `Send the file as the body with Content-Type text/csv${route.xlsx ? ` or ${XLSX_TYPE}` : ''}. The rows are published to the topics every instance reads; the answer, once Kafka has them all, is the load report: rows read, loaded and rejected, each rejected row with its line.${route.kind === 'declarations' ? ' The file is a KGD monthly export: the report says which month it was recorded as (`kgdExport`), from `month` or from its decisions’ dates, or why it was not (GET /v1/info shows the last month loaded).' : ''}`,
    ...(route.kind === 'declarations' ? { querystring: exportQuery } : {}),
  };
}

/** Receive the upload into a file of its own and load it; the file is gone once answered. */
async function loadUpload(
  options: LoadRouteOptions,
  route: LoadRoute,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const actor = request.actor!;
  const limit = options.maxUploadBytes;
  const format = mediaTypeOf(request) === XLSX_TYPE ? 'xlsx' : 'csv';
  const declared = Number(request.headers['content-length']);
  if (declared > limit) return refuseUpload(options, request, reply, route, `${declared} bytes declared`);
  mkdirSync(options.uploadsDir, { recursive: true });
  const file = join(options.uploadsDir, `${randomUUID()}.${format}`);
  try {
    try {
      await receiveUpload(request.body as Readable, file, limit);
    } catch (error) {
      if (!(error instanceof UploadTooLarge)) throw error;
      // Gone before the answer: a client told 413 finds nothing of its upload left.
      await rm(file, { force: true });
      return await refuseUpload(options, request, reply, route, `${error.received} bytes received`);
    }
    const report = await loadFile(options, route, request, file, format);
    await options.audit.record({
      actor: actor.name,
      role: actor.role,
      action: actionOf(route),
      // Optional for loads: e.g. the number of KGD's covering letter (seed 000 §11).
      basis: basisOf(request),
      target: loadTarget(report),
    });
    return { ...report, file: 'upload' };
  } catch (error) {
    if (isImeiflowError(error))
      return sendProblem(reply, 'load-failed', error.message.replace(file, 'the upload'), {
        code: error.code,
      });
    throw new Error(`load failed: ${messageOf(error)}`, { cause: error });
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Cluster-wide: the rows go to the topics every instance reads; the report is what Kafka has
 * acknowledged.
 */
function loadFile(
  options: LoadRouteOptions,
  route: LoadRoute,
  request: FastifyRequest,
  file: string,
  format: 'csv' | 'xlsx',
) {
  const query = (request.query ?? {}) as z.infer<typeof exportQuery>;
  // Validated by the schema: a month, or absent.
  const month = query.month === undefined ? null : parseYearMonth(query.month);
  return load(
    route.kind,
    options.target,
    file,
    { format },
    {
      actor: request.actor!.name,
      fileName: query.file ?? 'upload',
      month: month instanceof Error ? null : month,
      utcOffsetMinutes: options.utcOffsetMinutes,
    },
  );
}

/** 413, once the attempt is in the audit trail; the connection closes (the rest is not read). */
async function refuseUpload(
  options: LoadRouteOptions,
  request: FastifyRequest,
  reply: FastifyReply,
  route: LoadRoute,
  what: string,
): Promise<FastifyReply> {
  const actor = request.actor!;
  const limit = options.maxUploadBytes;
  try {
    await options.audit.record({
      actor: actor.name,
      role: actor.role,
      action: `${actionOf(route)}.refused`,
      basis: basisOf(request),
      target: `${what}; over http.maxUploadBytes ${limit}`,
    });
  } catch (error) {
    request.log.error({ err: error }, 'a refused upload could not be audited');
  }
  reply.header('connection', 'close');
  return sendProblem(reply, 'payload-too-large', `send at most ${limit} bytes (http.maxUploadBytes)`, {
    limit,
  });
}
