import { ProxyError, problemBody } from '../errors.js';
import { BASE_HEADERS } from './media-headers.js';

/** The one way an error becomes a response: application/problem+json with our stable code. */
export function problemResponse(error: ProxyError, extra?: Record<string, string>): Response {
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    ...BASE_HEADERS,
    ...error.headers,
    ...extra,
  };
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  return new Response(JSON.stringify(problemBody(error)), { status: error.status, headers });
}

export function jsonResponse(body: unknown, extra?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...BASE_HEADERS, ...extra },
  });
}
