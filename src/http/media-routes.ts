import type { Context, Hono } from 'hono';
import { grantCovers, type CallerGrant, type VerifyCallerToken } from '../auth/verify-caller-token.js';
import type { MediaCache } from '../cache/media-cache.js';
import type { Background } from '../cache/media-tier.js';
import { ProxyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MediaLoader } from '../media/media-loader.js';
import { isValidMediaId } from '../media/media-id.js';
import type { createMediaServer } from '../media/serve-media.js';
import { bearerToken } from './bearer-token.js';
import type { MediaAsk } from './media-responder.js';
import type { ProxyEnv } from './proxy-env.js';

/** OAuth-style scope a caller token needs for DELETE /media/:id. */
export const DELETE_SCOPE = 'media:delete';

export interface MediaRoutesDeps {
  readonly verifyCallerToken: VerifyCallerToken;
  readonly serveMedia: ReturnType<typeof createMediaServer>;
  readonly loader: MediaLoader;
  readonly cache: MediaCache;
  /** Throws unknown_account for an account this proxy does not serve. */
  readonly account: (name: string) => unknown;
  readonly background: (c: Context) => Background;
  readonly logger: Logger;
  /** The Allow header of a 405 (OPTIONS only when CORS answers preflights). */
  readonly allowedMethods: string;
}

/** GET/HEAD and DELETE /media/:id, and 405 for any other method there. */
export function registerMediaRoutes(app: Hono<ProxyEnv>, deps: MediaRoutesDeps): void {
  /**
   * The caller's grant for this media id: a valid token whose `media` claim covers the id. `?token=`
   * only where `query` allows it: it exists for <img src> and <video src>, and a token in a URL ends up
   * in histories and proxy logs, so an erasure (a backend call, no such excuse) must use the header.
   */
  async function authorize(c: Context<ProxyEnv>, query: 'query' | 'header only'): Promise<{ grant: CallerGrant; id: string }> {
    const token = query === 'query' ? callerToken(c) : bearerToken(c.req.header('authorization'));
    if (token === undefined) throw new ProxyError('unauthorized', { detail: query === 'query' ? 'send Authorization: Bearer <token> or ?token=' : 'send Authorization: Bearer <token>' });
    const grant = await deps.verifyCallerToken(token);
    const id = c.req.param('id') ?? '';
    if (!isValidMediaId(id)) throw new ProxyError('invalid_media_id');
    if (!grantCovers(grant, id)) throw new ProxyError('forbidden');
    return { grant, id };
  }

  app.get('/media/:id', async (c) => {
    const requestId = c.get('requestId');
    const { grant, id } = await authorize(c, 'query');

    const ask: MediaAsk = {
      head: c.req.method === 'HEAD',
      download: c.req.query('download') === '1',
      ifNoneMatch: c.req.header('if-none-match') ?? null,
      range: c.req.header('range') ?? null,
      ifRange: c.req.header('if-range') ?? null,
    };
    const served = await deps.serveMedia({ account: grant.account, id }, ask, () => c.req.raw.signal, deps.background(c), requestId, { 'x-request-id': requestId });
    c.set('cache', served.cache);
    c.set('bytes', served.bytes);
    return served.response;
  });

  // Erasure: every tier this proxy reaches (memory, store, this location's edge cache), and any copy
  // a running download was about to keep. 204 also when nothing was there.
  app.delete('/media/:id', async (c) => {
    const { grant, id } = await authorize(c, 'header only');
    if (!grant.scope.has(DELETE_SCOPE)) throw new ProxyError('insufficient_scope', { detail: `the token needs the ${DELETE_SCOPE} scope` });
    const key = { account: grant.account, id };
    deps.account(key.account);
    deps.loader.forget(key);
    await deps.cache.delete(key, deps.background(c));
    deps.logger.info({ requestId: c.get('requestId'), mediaId: id, account: key.account }, 'media erased');
    return new Response(null, { status: 204, headers: { 'x-request-id': c.get('requestId') } });
  });

  app.all('/media/:id', () => {
    throw new ProxyError('method_not_allowed', { headers: { allow: deps.allowedMethods } });
  });
}

/** `Authorization: Bearer <jwt>` first; `?token=` for <img src> and <video src>, which cannot send headers. */
function callerToken(c: Context): string | undefined {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) return bearerToken(authorization);
  const query = c.req.query('token');
  return query === undefined || query === '' ? undefined : query;
}
