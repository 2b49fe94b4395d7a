/**
 * RFC 7807 problem details. Every error answer of the control plane is one of these, with a
 * stable `type`; docs/problems.md lists them and a test checks the list against this one.
 */
import type { FastifyReply } from 'fastify';

export const PROBLEM_BASE = 'https://imeiflow.kz/problems/';

export const PROBLEMS = {
  'invalid-request': { status: 400, title: 'The request is not valid' },
  'invalid-imei': { status: 400, title: 'The IMEI is not valid' },
  'basis-required': { status: 400, title: 'Reading personal data needs an X-Basis header' },
  unauthorized: { status: 401, title: 'A valid bearer token is required' },
  'token-revoked': { status: 401, title: 'The token was revoked' },
  'token-expired': { status: 401, title: 'The token was blocked after 60 days without use' },
  'account-blocked': { status: 401, title: 'The account was blocked after repeated refused requests' },
  'certificate-refused': { status: 401, title: 'The client certificate is not accepted' },
  'certificate-revoked': { status: 401, title: 'The client certificate’s holder was revoked' },
  'certificate-expired': {
    status: 401,
    title: 'The client certificate’s holder was blocked after 60 days without use',
  },
  forbidden: { status: 403, title: 'The token’s role does not allow this' },
  'operator-unbound': { status: 403, title: 'The operator account names no operator' },
  'not-found': { status: 404, title: 'Not found' },
  'kgd-pending': { status: 409, title: 'The request still waits for KGD: confirming it needs an override' },
  'payload-too-large': { status: 413, title: 'The upload is too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported content type' },
  'load-failed': { status: 422, title: 'The file could not be loaded' },
  'rate-limited': { status: 429, title: 'Too many requests of this kind from the account' },
  'not-ready': { status: 503, title: 'Not ready' },
  'kafka-unavailable': { status: 503, title: 'Kafka did not accept the command' },
  'store-full': { status: 507, title: 'The store is full' },
  internal: { status: 500, title: 'Internal error' },
} as const;

export type ProblemType = keyof typeof PROBLEMS;

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [extra: string]: unknown;
}

export function problem(type: ProblemType, detail: string, extra: Record<string, unknown> = {}): ProblemBody {
  const { status, title } = PROBLEMS[type];
  return { type: `${PROBLEM_BASE}${type}`, title, status, detail, ...extra };
}

export function sendProblem(
  reply: FastifyReply,
  type: ProblemType,
  detail: string,
  extra: Record<string, unknown> = {},
): FastifyReply {
  const body = problem(type, detail, extra);
  return reply.code(body.status).type('application/problem+json').send(body);
}
