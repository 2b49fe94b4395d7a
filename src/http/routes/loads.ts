/**
 * POST /v1/tac, /v1/declarations, /v1/blocklist — the same loads as the CLI, over HTTP. The file
 * is the request body (`text/csv`, or the XLSX type for declarations), streamed to a temporary
 * file and loaded from there, so a large upload never sits in memory.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseYearMonth } from '../../domain/kgd-export.js';
import { isImeiflowError, messageOf } from '../../errors.js';
import { type LoadKind, load, loadTarget } from '../../loaders/loads.js';
import type { Permission } from '../../security/roles.js';
import { basisOf, requirePermission } from '../auth.js';
import type { ControlPlaneDeps } from '../deps.js';
import { sendProblem } from '../problem.js';

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const CSV_TYPES = ['text/csv', 'text/plain', 'application/octet-stream'];
/** Monthly KGD exports run to millions of rows; a gigabyte leaves room. */
const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024;

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

export function loadRoutes(app: FastifyInstance, deps: ControlPlaneDeps): void {
  // The body stays a stream: the handler writes it to disk.
  app.addContentTypeParser([...CSV_TYPES, XLSX_TYPE], (_request, payload, done) => done(null, payload));
  const uploads = join(deps.config.dataDir, 'uploads');

  for (const route of ROUTES) {
    app.post(
      route.url,
      {
        bodyLimit: MAX_UPLOAD_BYTES,
        schema: {
          summary: `Load a ${route.what} file for the whole cluster (as the CLI does)`,
          description: `Send the file as the body with Content-Type text/csv${route.xlsx ? ` or ${XLSX_TYPE}` : ''}. The rows are published to the topics every instance reads; the answer, once Kafka has them all, is the load report: rows read, loaded and rejected, each rejected row with its line.${route.kind === 'declarations' ? ' The file is a KGD monthly export: the report says which month it was recorded as (`kgdExport`), from `month` or from its decisions’ dates, or why it was not (GET /v1/info shows the last month loaded).' : ''}`,
          ...(route.kind === 'declarations' ? { querystring: exportQuery } : {}),
        },
        preHandler: requirePermission(deps.tokens, route.permission),
      },
      async (request, reply) => {
        const actor = request.actor!;
        const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const format = type === XLSX_TYPE ? 'xlsx' : 'csv';
        if (!CSV_TYPES.includes(type) && !(route.xlsx && type === XLSX_TYPE)) {
          return sendProblem(
            reply,
            'unsupported-media-type',
            `send the ${route.what} as text/csv${route.xlsx ? ' or XLSX' : ''}, not ${type || 'nothing'}`,
          );
        }
        mkdirSync(uploads, { recursive: true });
        const file = join(uploads, `${randomUUID()}.${format}`);
        try {
          await pipeline(request.body as Readable, createWriteStream(file));
          // Cluster-wide: the rows go to the topics every instance reads; the report is what
          // Kafka has acknowledged.
          const query = (request.query ?? {}) as z.infer<typeof exportQuery>;
          // Validated by the schema: a month, or absent.
          const month = query.month === undefined ? null : parseYearMonth(query.month);
          const report = await load(
            route.kind,
            deps.loads === undefined
              ? { kind: 'local', store: deps.store }
              : { kind: 'cluster', cluster: deps.loads },
            file,
            { format },
            {
              actor: actor.name,
              fileName: query.file ?? 'upload',
              month: month instanceof Error ? null : month,
              utcOffsetMinutes: deps.config.pending.utcOffsetMinutes,
            },
          );
          await deps.audit.record({
            actor: actor.name,
            role: actor.role,
            action: `load.${route.url.slice('/v1/'.length)}`,
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
      },
    );
  }
}
