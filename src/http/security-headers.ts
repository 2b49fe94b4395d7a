/**
 * Security headers on every answer of the control plane (OWASP Secure Headers): no page of it may
 * be framed (clickjacking a reviewer's confirm button), no answer sniffed into another type, no
 * URL leaked as a referrer, and nothing that may hold personal data kept by a browser or proxy.
 *
 * The reviewers' page (review-page.ts) is one document with one inline script and one inline
 * style: its Content-Security-Policy allows exactly those, by their SHA-256 hashes, computed from
 * the page as rendered, so the policy follows the page when it changes and nothing else injected
 * into it (a stored IMEI or reason shown with innerHTML by mistake) can run. API answers are JSON
 * and get a policy that allows nothing.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** For JSON and problem answers: no content runs, and nothing may frame them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** Headers every answer carries (CSP and Cache-Control are decided per answer). */
const ALWAYS: Readonly<Record<string, string>> = {
  // frame-ancestors is the modern rule; X-Frame-Options for browsers that predate it.
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Swagger UI's static assets (/docs) may be cached; everything else may carry personal data. */
const CACHEABLE_PREFIX = '/docs';

const INLINE = /<(script|style)(\s[^>]*)?>([\s\S]*?)<\/\1>/gi;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The policy for an HTML page of the control plane: its inline scripts and styles by hash, its
 * own origin for fetch (the API), nothing else. An element with a `src` is not inline: the page
 * has none, and the policy admits none.
 */
export function pageContentSecurityPolicy(html: string): string {
  const scripts = new Set<string>();
  const styles = new Set<string>();
  for (const match of html.matchAll(INLINE)) {
    const [, tag, attributes = '', body = ''] = match;
    if (/\ssrc\s*=/i.test(attributes)) continue;
    (tag!.toLowerCase() === 'script' ? scripts : styles).add(sha256(body));
  }
  const list = (hashes: Set<string>) => (hashes.size === 0 ? "'none'" : [...hashes].join(' '));
  return [
    "default-src 'none'",
    `script-src ${list(scripts)}`,
    `style-src ${list(styles)}`,
    "connect-src 'self'",
    "img-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** One policy per page text: the pages are rendered once (one per language), so each is hashed once. */
const pagePolicies = new Map<string, string>();
/** Were a page ever rendered per request, the cache would stop at this instead of growing. */
const MAX_CACHED_POLICIES = 16;

export function cachedPagePolicy(html: string): string {
  let policy = pagePolicies.get(html);
  if (policy === undefined) {
    policy = pageContentSecurityPolicy(html);
    if (pagePolicies.size < MAX_CACHED_POLICIES) pagePolicies.set(html, policy);
  }
  return policy;
}

/**
 * Registers the hook. Call it before any plugin registers routes: a plugin's context inherits
 * the hooks its parent had when it was registered.
 */
export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    for (const [name, value] of Object.entries(ALWAYS)) reply.header(name, value);
    // A route that set its own policy (the review page) keeps it; Swagger UI sets its own after this.
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', API_CSP);
    if (!request.url.startsWith(CACHEABLE_PREFIX)) reply.header('cache-control', 'no-store');
    return payload;
  });
}
