import { ProxyError } from '../errors.js';
import { textResponse } from './problem-response.js';

/** A runtime's metrics in some text exposition format (Prometheus on Node). */
export type ScrapeMetrics = () => Promise<{ readonly contentType: string; readonly body: string }>;

/**
 * GET /metrics. Without a scraper (Workers: an isolate's counters mean little) the route does not
 * exist. With METRICS_TOKEN set, the scraper must send it as a bearer token; the comparison takes the
 * same time wherever the first differing byte is.
 */
export async function answerMetrics(
  scrape: ScrapeMetrics | undefined,
  metricsToken: string | undefined,
  authorization: string | undefined,
  extra: Record<string, string>,
): Promise<Response> {
  if (scrape === undefined) throw new ProxyError('not_found');
  if (metricsToken !== undefined) {
    const presented = authorization === undefined ? undefined : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1];
    if (presented === undefined || !constantTimeEqual(presented, metricsToken)) {
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

const encoder = new TextEncoder();

/**
 * Compares every byte of `expected` whatever `given` holds, so the time taken does not tell how much
 * of a guess was right (only, at most, whether its length was).
 */
export function constantTimeEqual(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}
