import { ProxyError, problemBody } from '../errors.js';
import { BASE_HEADERS } from './media-headers.js';

const encoder = new TextEncoder();

/**
 * A small non-media answer (problem, JSON, metrics text): encoded once, with Content-Length set, so
 * the request log can report its bytes like a media answer's, and never cached by anyone.
 */
export function textResponse(status: number, text: string, contentType: string, extra?: Record<string, string>): Response {
  const body = encoder.encode(text);
  return new Response(body, {
    status,
    headers: { 'content-type': contentType, 'content-length': String(body.byteLength), 'cache-control': 'no-store', ...BASE_HEADERS, ...extra },
  });
}

/** The one way an error becomes a response: application/problem+json with our stable code. */
export function problemResponse(error: ProxyError, extra?: Record<string, string>): Response {
  const headers: Record<string, string> = { ...error.headers, ...extra };
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  return textResponse(error.status, JSON.stringify(problemBody(error)), 'application/problem+json', headers);
}

export function jsonResponse(body: unknown, extra?: Record<string, string>): Response {
  return textResponse(200, JSON.stringify(body), 'application/json', extra);
}
