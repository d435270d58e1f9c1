import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { createCallerTokenVerifier, type VerifyCallerToken } from './auth/verify-caller-token.js';
import { MediaCache } from './cache/media-cache.js';
import { createMemoryTier, type MemoryTier } from './cache/memory-tier.js';
import { inlineBackground, type Background, type MediaTier, type StoreTier } from './cache/media-tier.js';
import { AccountRegistry, type Account } from './accounts.js';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { ProxyError, isProxyError } from './errors.js';
import { createMediaResolver } from './graph/resolve-media.js';
import type { CreateSha256 } from './hash.js';
import { BASE_HEADERS } from './http/media-headers.js';
import { answerMetrics, type ScrapeMetrics } from './http/metrics-endpoint.js';
import { mountIngestion } from './http/ingest-routes.js';
import { registerMediaRoutes } from './http/media-routes.js';
import type { ProxyEnv } from './http/proxy-env.js';
import { createTierIngestor } from './ingest/media-ingestor.js';
import { createSignatureVerifier, type VerifySignature } from './ingest/webhook-signature.js';
import type { Ingestion, IngestionOptions } from './ingest/ingestion.js';
import { loggablePath } from './http/loggable-path.js';
import { jsonResponse, problemResponse } from './http/problem-response.js';
import { describeError, type Logger } from './logger.js';
import { createMediaLoader, type AccountUpstream, type MediaLoader, type WithKnownLength } from './media/media-loader.js';
import { createMediaServer } from './media/serve-media.js';
import { noopMetrics, type Metrics } from './metrics.js';
import type { Fetch } from './upstream/fetch-upstream.js';

/** Everything the core needs from its runtime. The entrypoints (src/node.ts, src/worker.ts) build it. */
export interface AppDeps extends IngestionOptions {
  readonly config: Config;
  /** The accounts served; config.accounts unless the runtime adds more (WHATSAPP_ACCOUNTS_FILE). */
  readonly accounts?: readonly Account[];
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly createSha256: CreateSha256;
  /** Package version, for the upstream User-Agent and /healthz. */
  readonly version: string;
  readonly metrics?: Metrics;
  /** Shared cache tiers after the per-process memory tier (the Workers Cache API, …). */
  readonly sharedTiers?: readonly MediaTier[];
  /** The persistent store (src/runtime/*: a directory, S3, R2), read after every cache tier. */
  readonly store?: StoreTier;
  /** Where writes that outlive the response go (Workers: the execution context). */
  readonly background?: (c: Context) => Background;
  /** GET /metrics answers what this returns (Node: prom-client); without it the route is a 404. */
  readonly metricsEndpoint?: ScrapeMetrics;
  /** Overrides the retry backoff base (tests). */
  readonly graphRetryBaseMs?: number;
  /**
   * Makes a streamed body's length known to the runtime, for runtimes that otherwise drop the
   * Content-Length of a JS stream (Workers: FixedLengthStream). Node needs none.
   */
  readonly withKnownLength?: WithKnownLength;
}

export interface ProxyApp extends Ingestion {
  readonly app: Hono<ProxyEnv>;
  readonly memory: MemoryTier;
  readonly loader: MediaLoader;
  /** Replace its accounts to reload them (SIGHUP on Node). */
  readonly accounts: AccountRegistry<AccountServices>;
}

/** What is built once per account: its upstream (token, resolver) and its webhook signature check. */
interface AccountServices extends AccountUpstream {
  readonly verifySignature: VerifySignature | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BASE_HEADERS_ENTRIES = Object.entries(BASE_HEADERS);

export function createApp(deps: AppDeps): ProxyApp {
  const { config, clock, logger } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const userAgent = `whatsapp-media-proxy/${deps.version}`;
  const background = deps.background ?? (() => inlineBackground);

  const memory = createMemoryTier({
    maxBytes: config.cacheMaxBytes,
    maxItemBytes: config.cacheMaxItemBytes,
    onEvict: () => metrics.cacheEviction(),
  });
  const cache = new MediaCache([memory, ...(deps.sharedTiers ?? []), ...(deps.store ? [deps.store] : [])]);
  // One resolver per account: its lookup cache, not-found memory, single-flight and fail-fast windows
  // (rate limit, rejected token) belong to that account alone.
  const accounts = new AccountRegistry<AccountServices>(deps.accounts ?? config.accounts, (account) => ({
    token: account.token,
    verifySignature: account.appSecrets.length > 0 ? createSignatureVerifier(account.appSecrets) : undefined,
    resolver: createMediaResolver({
      config,
      token: account.token,
      fetch: deps.fetch,
      clock,
      logger,
      userAgent,
      metrics,
      ...(deps.graphRetryBaseMs === undefined ? {} : { retryBaseMs: deps.graphRetryBaseMs }),
    }),
  }));
  const account = (name: string): AccountServices => {
    const found = accounts.for(name);
    if (found === undefined) throw new ProxyError('unknown_account');
    return found;
  };
  const loader = createMediaLoader({ config, fetch: deps.fetch, userAgent, account, cache, createSha256: deps.createSha256, clock, logger, metrics, withKnownLength: deps.withKnownLength });
  const serveMedia = createMediaServer({ config, cache, account, loader, metrics, withKnownLength: deps.withKnownLength });
  const verifyCallerToken: VerifyCallerToken = createCallerTokenVerifier(config.auth, { fetch: deps.fetch, clock });

  const app = new Hono<ProxyEnv>();
  const corsEnabled = config.corsOrigins.length > 0;
  const mediaMethods = corsEnabled ? 'GET, HEAD, DELETE, OPTIONS' : 'GET, HEAD, DELETE';

  // One middleware, one layer per request:
  // - a log line per request: method, path (never the query: it may hold ?token=), status, duration,
  //   bytes, cache outcome; the request id comes from X-Request-Id when it is sane, else is minted;
  // - nosniff and no-referrer on every response, including those no handler of ours built (CORS
  //   preflights, anything Hono answers itself): a user-sent file must never be sniffed into HTML,
  //   and a `?token=` URL must never leak through a Referer.
  app.use(async (c, next) => {
    const started = clock.now();
    const incoming = c.req.header('x-request-id');
    c.set('requestId', incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID());
    try {
      await next();
    } catch (thrown) {
      c.res = answerError(thrown, c);
    }
    const cacheOutcome = c.get('cache');
    // Media answers carry the base headers already (MediaResponder builds every header). Skip them
    // without touching c.res.headers: on @hono/node-server reading it turns the plain header record
    // into a Headers object that is converted back on write, ~25-40% more CPU per cache hit. The
    // rest (errors, /healthz, CORS preflights) are cheap to check. A CORS preflight is answered by
    // the cors middleware before any handler of ours, so it gets its X-Request-Id here too.
    if (cacheOutcome === undefined) {
      for (const [name, value] of BASE_HEADERS_ENTRIES) if (c.res.headers.get(name) !== value) c.res.headers.set(name, value);
      if (!c.res.headers.has('x-request-id')) c.res.headers.set('x-request-id', c.get('requestId'));
    }
    const status = c.res.status;
    const seconds = (clock.now() - started) / 1000;
    metrics.request(c.req.routePath || 'unmatched', c.req.method, status, seconds);
    logger.info(
      {
        requestId: c.get('requestId'),
        method: c.req.method,
        path: loggablePath(c.req.path),
        status,
        ms: Math.round(seconds * 1000),
        bytes: c.get('bytes') ?? contentLength(c.res),
        cache: cacheOutcome,
      },
      'request',
    );
  });

  if (corsEnabled) {
    // fetch() from the listed origins only. No credentials: callers authenticate with a bearer
    // token, never a cookie. Hono's cors adds `Vary: Origin` to every answer it touches.
    app.use(
      '/media/*',
      cors({
        origin: [...config.corsOrigins],
        allowMethods: ['GET', 'HEAD', 'OPTIONS'],
        allowHeaders: ['Authorization', 'Range', 'If-None-Match', 'If-Range', 'X-Request-Id'],
        exposeHeaders: ['Content-Length', 'Content-Range', 'Content-Disposition', 'Accept-Ranges', 'ETag', 'Retry-After', 'X-Request-Id'],
        maxAge: 600,
      }),
    );
  }

  /**
   * The one mapping from anything thrown to a response. Hono calls onError only for Error instances;
   * the middleware below sends everything else here too (an aborted fetch rejects with the abort
   * reason, which @hono/node-server sets to a string when the client disconnects).
   */
  function answerError(error: unknown, c: Context<ProxyEnv>): Response {
    const requestId = c.get('requestId');
    const extra = { 'x-request-id': requestId };
    // Whatever failed after the caller left failed because it left (its aborted signal cancels the
    // upstream work): not a server error, and nobody will read the answer.
    if (c.req.raw.signal.aborted) return problemResponse(new ProxyError('client_closed_request'), extra);
    if (isProxyError(error)) {
      if (error.status >= 500) logger.warn({ requestId, code: error.code, detail: error.detail, error: error.cause === undefined ? undefined : describeError(error.cause) }, 'request failed upstream');
      return problemResponse(error, extra);
    }
    logger.error({ requestId, error: describeError(error) }, 'unhandled error');
    return problemResponse(new ProxyError('internal'), extra);
  }
  app.onError(answerError);

  app.notFound((c) => problemResponse(new ProxyError('not_found'), { 'x-request-id': c.get('requestId') }));

  app.get('/healthz', (c) =>
    jsonResponse(
      {
        status: 'ok',
        version: deps.version,
        cache: { bytes: memory.bytes, entries: memory.entries, maxBytes: config.cacheMaxBytes },
        store: deps.store === undefined ? { kind: 'none' } : { kind: deps.store.kind, ...deps.store.fill?.() },
      },
      { 'x-request-id': c.get('requestId') },
    ),
  );

  app.get('/metrics', (c) => answerMetrics(deps.metricsEndpoint, config.metricsToken, c.req.header('authorization'), { 'x-request-id': c.get('requestId') }));
  // Hono answers HEAD with the GET route; any other method is a 405, as on /media/:id. Not on
  // /metrics without a scraper: there GET is a 404 too, so nothing should be advertised.
  for (const path of deps.metricsEndpoint ? ['/healthz', '/metrics'] : ['/healthz']) {
    app.all(path, () => {
      throw new ProxyError('method_not_allowed', { headers: { allow: 'GET, HEAD' } });
    });
  }

  // POST/GET /webhooks/whatsapp and POST /prefetch (src/http/ingest-routes.ts).
  const fallbackIngestor = () => createTierIngestor({ cache, loader, account, maxMediaBytes: config.maxMediaBytes, store: deps.store });
  const ingestion = mountIngestion(app, deps, {
    config,
    clock,
    logger,
    metrics,
    background,
    verifyCallerToken,
    fallbackIngestor,
    verifierFor: (name) => accounts.for(name)?.verifySignature,
    knowsAccount: (name) => accounts.get(name) !== undefined,
  });

  registerMediaRoutes(app, { verifyCallerToken, serveMedia, loader, cache, account, background, logger, allowedMethods: mediaMethods });

  return { app, memory, loader, accounts, ...ingestion };
}

function contentLength(res: Response): number | undefined {
  const length = res.headers.get('content-length');
  return length === null ? undefined : Number(length);
}
