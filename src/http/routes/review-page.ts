/** GET /review — the reviewers' page (src/http/review-page.ts), in the language the caller reads. */
import type { FastifyInstance } from 'fastify';
import { pickLanguage, reviewPage } from '../review-page.js';
import { cachedPagePolicy } from '../security-headers.js';

export async function reviewPageRoutes(app: FastifyInstance): Promise<void> {
  app.get('/review', { schema: { hide: true } }, async (request, reply) => {
    const language = pickLanguage(
      (request.query as Record<string, unknown> | undefined)?.['lang'],
      request.headers['accept-language'],
    );
    const page = reviewPage(language);
    return reply
      .type('text/html; charset=utf-8')
      .header('content-language', language)
      .header('vary', 'accept-language')
      .header('content-security-policy', cachedPagePolicy(page))
      .send(page);
  });
}
