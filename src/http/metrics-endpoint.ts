import { timingSafeEqual } from 'hono/utils/buffer';
import { ProxyError } from '../errors.js';
import { bearerToken } from './bearer-token.js';
import { textResponse } from './problem-response.js';

/** A runtime's metrics in some text exposition format (Prometheus on Node). */
export type ScrapeMetrics = () => Promise<{ readonly contentType: string; readonly body: string }>;

/**
 * GET /metrics. Without a scraper (Workers: an isolate's counters mean little) the route does not
 * exist. With METRICS_TOKEN set, the scraper must send it as a bearer token, compared with hono's
 * timingSafeEqual (it compares SHA-256 digests, so the time taken tells nothing about the token).
 */
export async function answerMetrics(
  scrape: ScrapeMetrics | undefined,
  metricsToken: string | undefined,
  authorization: string | undefined,
  extra: Record<string, string>,
): Promise<Response> {
  if (scrape === undefined) throw new ProxyError('not_found');
  if (metricsToken !== undefined) {
    const presented = bearerToken(authorization);
    if (presented === undefined || !(await timingSafeEqual(presented, metricsToken))) {
      throw new ProxyError('unauthorized', {
        detail: 'send Authorization: Bearer <METRICS_TOKEN>',
        // RFC 6750 §3: a 401 for a bearer-protected resource names the scheme.
        headers: { 'www-authenticate': 'Bearer realm="metrics"' },
      });
    }
  }
  const { contentType, body } = await scrape();
  return textResponse(200, body, contentType, extra);
}
