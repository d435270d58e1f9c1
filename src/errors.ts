/**
 * Domain errors carry a fixed code; ERRORS maps each code to the HTTP status and the human title a
 * caller sees. Nothing else about an error (message, cause, stack, upstream URL) reaches a client:
 * the `detail` given at the throw site is the only free text, and it must be safe to show.
 */

export const ERRORS = {
  invalid_media_id: { status: 400, title: 'Media id must be digits only' },
  invalid_request: { status: 400, title: 'The request body is not what this endpoint accepts' },
  malformed_request: { status: 400, title: 'The request is not well-formed HTTP' },
  unauthorized: { status: 401, title: 'A valid caller token is required' },
  invalid_signature: { status: 401, title: 'The webhook signature is missing or does not match' },
  forbidden: { status: 403, title: 'The caller token does not cover this media' },
  insufficient_scope: { status: 403, title: 'The caller token lacks the scope this endpoint needs' },
  unknown_account: { status: 403, title: 'The caller token names an account this proxy does not serve' },
  verification_failed: { status: 403, title: 'The webhook verification request does not match' },
  media_not_found: { status: 404, title: 'Media not found or expired' },
  not_found: { status: 404, title: 'No such endpoint' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  request_header_too_large: { status: 431, title: 'Request headers too large' },
  auth_unavailable: { status: 503, title: 'Caller token keys are temporarily unavailable' },
  queue_full: { status: 503, title: 'The prefetch queue is full; retry later' },
  server_busy: { status: 503, title: 'The proxy is receiving too much at once; retry later' },
  upstream_rate_limited: { status: 503, title: 'WhatsApp rate limit reached; retry later' },
  upstream_auth_failed: { status: 502, title: 'The proxy could not authenticate to WhatsApp' },
  upstream_forbidden: { status: 502, title: 'The proxy is not permitted to read this media' },
  upstream_host_not_allowed: { status: 502, title: 'WhatsApp returned a download URL on a host that is not allowed' },
  upstream_invalid_response: { status: 502, title: 'WhatsApp returned an unexpected response' },
  upstream_error: { status: 502, title: 'WhatsApp could not deliver the media' },
  upstream_unavailable: { status: 503, title: 'WhatsApp is temporarily unavailable' },
  upstream_timeout: { status: 504, title: 'WhatsApp did not answer in time' },
  integrity_mismatch: { status: 502, title: 'The media bytes did not match their checksum' },
  media_too_large: { status: 502, title: 'The media is larger than this proxy serves (MAX_MEDIA_BYTES)' },
  // nginx's non-standard 499: never seen by the caller (gone), but it keeps a client leaving out of
  // the 5xx counts in logs and metrics.
  client_closed_request: { status: 499, title: 'The caller closed the request' },
  internal: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface ProxyErrorOptions {
  /** Safe, caller-visible explanation. Never include tokens, upstream URLs or internals. */
  readonly detail?: string;
  /** Seconds, sent as Retry-After (rate limits, transient unavailability). */
  readonly retryAfter?: number;
  /** Extra response headers (e.g. Allow on 405). */
  readonly headers?: Readonly<Record<string, string>>;
  /** For logs only; never serialised to the caller. */
  readonly cause?: unknown;
}

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  readonly status: number;
  readonly detail: string | undefined;
  readonly retryAfter: number | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    readonly code: ErrorCode,
    options: ProxyErrorOptions = {},
  ) {
    super(options.detail ? `${code}: ${options.detail}` : code, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = ERRORS[code].status;
    this.detail = options.detail;
    this.retryAfter = options.retryAfter;
    this.headers = options.headers;
  }
}

export function isProxyError(error: unknown): error is ProxyError {
  return error instanceof ProxyError;
}

export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail?: string;
}

/** RFC 9457 problem details, with our stable `code` as an extension member. */
export function problemBody(error: ProxyError): ProblemBody {
  const { title, status } = ERRORS[error.code];
  return {
    type: 'about:blank',
    title,
    status,
    code: error.code,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
  };
}
