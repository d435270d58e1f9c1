import type { Context, Env as HonoEnv, Hono } from 'hono';
import { grantCovers, type VerifyCallerToken } from '../auth/verify-caller-token.js';
import type { Background } from '../cache/media-tier.js';
import { ProxyError } from '../errors.js';
import type { JobState, PrefetchIntake, PrefetchJob } from '../ingest/prefetch-job.js';
import { isValidMediaId } from '../media/media-id.js';
import { bearerToken } from './bearer-token.js';
import { textResponse } from './problem-response.js';
import { parseJsonBody, readRequestBody } from './read-request-body.js';

export const PREFETCH_SCOPE = 'media:prefetch';
export const MAX_PREFETCH_IDS = 100;
/** 100 ids of at most 32 digits, quoted, with room for whitespace. */
const MAX_PREFETCH_BODY_BYTES = 16 * 1024;

export interface PrefetchRouteDeps {
  readonly verifyCallerToken: VerifyCallerToken;
  readonly intake: PrefetchIntake;
  readonly background: (c: Context) => Background;
  /** Whether the proxy serves this account (only `default` until issue 13). */
  readonly knowsAccount: (account: string) => boolean;
}

/**
 * `POST /prefetch {"media": ["<id>", …]}`: a backend asks for media to be fetched and kept before
 * anyone views it. The caller token needs the `media:prefetch` scope and a `media` claim covering
 * every id (a service token has `"*"`). 202 with each id's state: `stored` (nothing to do), `queued`,
 * or `invalid` (a string that is not a media id). A body that is not that shape is a 400.
 */
export function registerPrefetchRoute<E extends HonoEnv>(app: Hono<E>, deps: PrefetchRouteDeps): void {
  app.post('/prefetch', async (c) => {
    // Header only: ?token= exists for <img src>, and a backend call has no such excuse.
    const token = bearerToken(c.req.header('authorization'));
    if (token === undefined) throw new ProxyError('unauthorized', { detail: 'send Authorization: Bearer <token>' });
    const grant = await deps.verifyCallerToken(token);
    if (!grant.scope.has(PREFETCH_SCOPE)) throw new ProxyError('insufficient_scope', { detail: `the token needs the ${PREFETCH_SCOPE} scope` });
    if (!deps.knowsAccount(grant.account)) throw new ProxyError('unknown_account');

    const ids = parseIds(parseJsonBody(await readRequestBody(c.req.raw, MAX_PREFETCH_BODY_BYTES)));
    const valid = ids.filter(isValidMediaId);
    if (!valid.every((id) => grantCovers(grant, id))) throw new ProxyError('forbidden');

    const jobs: PrefetchJob[] = valid.map((id) => ({ account: grant.account, id }));
    const { states, settled } = await deps.intake.accept(jobs, { checkStored: true });
    deps.background(c).waitUntil(settled);
    const stateOf = new Map<string, JobState>(valid.map((id, i) => [id, states[i]!]));
    const media = ids.map((id) => ({ id, state: stateOf.get(id) ?? 'invalid' }));
    return textResponse(202, JSON.stringify({ media }), 'application/json');
  });

  app.all('/prefetch', () => {
    throw new ProxyError('method_not_allowed', { headers: { allow: 'POST' } });
  });
}

/** The distinct strings of `media`, in order; 1 to 100 of them. */
function parseIds(body: unknown): string[] {
  const media = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).media : undefined;
  if (!Array.isArray(media) || media.length === 0 || media.length > MAX_PREFETCH_IDS || !media.every((id) => typeof id === 'string')) {
    throw new ProxyError('invalid_request', { detail: `send {"media": [<id>, …]} with 1 to ${MAX_PREFETCH_IDS} string ids` });
  }
  return [...new Set(media as string[])];
}
