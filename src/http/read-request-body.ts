import { ProxyError } from '../errors.js';
import { BodyTooLarge, readBounded } from '../upstream/read-bounded.js';

/**
 * A request body read whole but bounded: a Content-Length above `limit` is refused before a byte is
 * read, and since that header may lie or be absent (chunked), reading stops at the first chunk that
 * goes past `limit`, so at most `limit` bytes are ever held.
 */
export async function readRequestBody(request: Request, limit: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) throw tooLarge(limit);
  try {
    return await readBounded(request.body, limit);
  } catch (error) {
    if (error instanceof BodyTooLarge) throw tooLarge(limit);
    throw error;
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
