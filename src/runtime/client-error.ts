import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProxyError, type ErrorCode } from '../errors.js';
import { problemResponse } from '../http/problem-response.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/**
 * Node's HTTP parser refuses some requests before any handler sees them (headers over 16 KiB, a
 * malformed header line, an unknown method, a body that took longer than `requestTimeout`), and
 * by default answers them with a bare status line. These answers are the app's instead: a
 * problem+json body, nosniff, no-referrer, an X-Request-Id, a request log line and a count, so a
 * browser whose cookies outgrew the limit sees the same kind of answer as any other refusal.
 */
export function answerClientErrors(server: Server, deps: { readonly logger: Logger; readonly metrics: Metrics }): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    void answer(error, socket, deps);
  });
}

/** Node's own codes for these refusals (lib/_http_server.js socketOnError), mapped to ours. */
function codeFor(error: NodeJS.ErrnoException): ErrorCode {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'request_header_too_large';
  if (error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 'payload_too_large';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  return 'malformed_request';
}

async function answer(error: NodeJS.ErrnoException, socket: Duplex, deps: { readonly logger: Logger; readonly metrics: Metrics }): Promise<void> {
  try {
    const requestId = crypto.randomUUID();
    const refusal = new ProxyError(codeFor(error));
    const response = problemResponse(refusal, { 'x-request-id': requestId, connection: 'close' });
    const body = new Uint8Array(await response.arrayBuffer());
    // As Node does: answer only while nothing of a response has gone out on this connection (a
    // keep-alive connection may be mid-answer), and never to a peer that reset it.
    if (error.code === 'ECONNRESET' || !socket.writable || responseStarted(socket)) {
      socket.destroy();
      return;
    }
    const head = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`];
    for (const [name, value] of response.headers) head.push(`${name}: ${value}`);
    // The server allows half-open connections, so end() alone would leave this one open, with a
    // request timed out mid-body still pending behind it: closed once the answer is out, as Node does.
    socket.end(Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]), () => socket.destroy());
    deps.metrics.request('unparsed', 'unknown', response.status, 0);
    // Nothing of the request is logged: it may hold a token in its target or headers.
    deps.logger.info({ requestId, status: response.status, code: refusal.code, bytes: body.byteLength }, 'request refused by the HTTP parser');
  } finally {
    // Whatever happened above, the connection does not outlive its refusal (a peer that never reads
    // the answer included: end()'s callback would not run).
    setTimeout(() => socket.destroy(), ANSWER_GRACE_MS).unref();
  }
}

/** How long a refused connection may take to read its answer before it is cut. */
const ANSWER_GRACE_MS = 5_000;

function responseStarted(socket: Duplex): boolean {
  return (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
}
