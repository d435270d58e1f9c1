import { ProxyError } from '../errors.js';

/**
 * Graph error bodies: `{ "error": { "message", "type", "code", "error_subcode", "is_transient",
 * "fbtrace_id" } }` (see shared/graph-media-api.md). Classified into what the proxy does about them.
 */
export interface GraphErrorBody {
  readonly code?: number;
  readonly subcode?: number;
  readonly transient: boolean;
  readonly type?: string;
  readonly fbtraceId?: string;
}

export type GraphFailure =
  /** The id does not exist (any more): 404, remembered briefly. */
  | { readonly kind: 'not_found'; readonly error: ProxyError }
  /** Rate limited: fail fast until `retryAfter` seconds pass; never hammer Graph. */
  | { readonly kind: 'rate_limited'; readonly error: ProxyError; readonly retryAfter: number }
  /** Worth another try after a backoff (5xx, is_transient, codes 1/2). */
  | { readonly kind: 'transient'; readonly error: ProxyError }
  /** Final: our token is rejected, permission missing, malformed request. */
  | { readonly kind: 'fatal'; readonly error: ProxyError; readonly loud: boolean };

export function parseGraphError(body: unknown): GraphErrorBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
  const code = num(e.code);
  const subcode = num(e.error_subcode);
  return {
    ...(code === undefined ? {} : { code }),
    ...(subcode === undefined ? {} : { subcode }),
    transient: e.is_transient === true,
    ...(typeof e.type === 'string' ? { type: e.type } : {}),
    ...(typeof e.fbtrace_id === 'string' ? { fbtraceId: e.fbtrace_id } : {}),
  };
}

// Codes 4 (app), 17 (user), 32 (page), 613 (calls per hour), 80007 (WABA), 130429 (throughput).
const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80007, 130429]);
const DEFAULT_RATE_LIMIT_RETRY_SECONDS = 60;

function retryAfterSeconds(header: string | null): number {
  if (header !== null && /^\d{1,6}$/.test(header.trim())) return Math.max(1, Number(header.trim()));
  return DEFAULT_RATE_LIMIT_RETRY_SECONDS;
}

export function classifyGraphFailure(status: number, body: GraphErrorBody | undefined, retryAfterHeader: string | null): GraphFailure {
  const code = body?.code;
  const detail = code === undefined ? `Graph answered HTTP ${status}` : `Graph error code ${code}${body?.subcode === undefined ? '' : `/${body.subcode}`}`;

  if (code === 100 && (body?.subcode === 33 || body?.subcode === undefined) && status < 500) {
    return { kind: 'not_found', error: new ProxyError('media_not_found') };
  }
  if (code === undefined && status === 404) return { kind: 'not_found', error: new ProxyError('media_not_found') };

  if ((code !== undefined && RATE_LIMIT_CODES.has(code)) || status === 429) {
    const retryAfter = retryAfterSeconds(retryAfterHeader);
    return { kind: 'rate_limited', retryAfter, error: new ProxyError('upstream_rate_limited', { detail, retryAfter }) };
  }
  if (code === 190 || (code === undefined && status === 401)) {
    return { kind: 'fatal', loud: true, error: new ProxyError('upstream_auth_failed', { detail }) };
  }
  if (code === 10 || (code !== undefined && code >= 200 && code <= 299) || (code === undefined && status === 403)) {
    return { kind: 'fatal', loud: true, error: new ProxyError('upstream_forbidden', { detail }) };
  }
  if (body?.transient === true || code === 1 || code === 2 || status >= 500) {
    return { kind: 'transient', error: new ProxyError('upstream_unavailable', { detail }) };
  }
  return { kind: 'fatal', loud: false, error: new ProxyError('upstream_error', { detail }) };
}
