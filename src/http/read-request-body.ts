import { ProxyError } from '../errors.js';
import { BodyTooLarge, readBounded } from '../upstream/read-bounded.js';
import type { BodyBudget } from './body-budget.js';

/** Seconds a caller is asked to wait when the body budget is spent. */
const BUSY_RETRY_AFTER_SECONDS = 5;

export interface RequestBodyOptions {
  /** A total shared with the other requests reading at the same time (see below). */
  readonly budget?: BodyBudget;
  /** The whole body must have arrived within this many ms, or the request is a 408. */
  readonly deadlineMs?: number;
}

/**
 * A request body read whole but bounded: a Content-Length above `limit` is refused before a byte is
 * read, and since that header may lie or be absent (chunked), reading stops at the first chunk that
 * goes past `limit`, so at most `limit` bytes are ever held. With a `budget`, the bytes also count
 * against a total shared with the other requests reading at the same time, until this read ends; a
 * chunk that does not fit fails the request with 503 (and Retry-After), the others go on. With a
 * `deadlineMs`, a sender that trickles cannot hold its bytes (and the budget) for long.
 */
export async function readRequestBody(request: Request, limit: number, options: RequestBodyOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const { budget, deadlineMs } = options;
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) throw tooLarge(limit);
  let taken = 0;
  const onChunk = budget && ((bytes: number) => {
    if (!budget.take(bytes)) throw new ProxyError('server_busy', { retryAfter: BUSY_RETRY_AFTER_SECONDS, detail: 'too many request bodies are being received at once' });
    taken += bytes;
  });
  const deadline = deadlineMs === undefined ? undefined : new AbortController();
  const timer = deadline && setTimeout(() => deadline.abort(new ProxyError('request_timeout', { detail: `the body must arrive within ${deadlineMs} ms` })), deadlineMs);
  try {
    return await readBounded(request.body, limit, { ...(onChunk ? { onChunk } : {}), ...(deadline ? { signal: deadline.signal } : {}) });
  } catch (error) {
    if (error instanceof BodyTooLarge) throw tooLarge(limit);
    throw error;
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    budget?.give(taken);
  }
}

/** JSON from UTF-8 bytes (RFC 8259 §8.1), refusing invalid UTF-8 instead of replacing it. */
export function parseJsonBody(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new ProxyError('invalid_request', { detail: 'the body is not valid JSON' });
  }
}

function tooLarge(limit: number): ProxyError {
  return new ProxyError('payload_too_large', { detail: `the body must be at most ${limit} bytes` });
}
