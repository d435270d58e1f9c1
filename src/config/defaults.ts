/**
 * Every configuration default, in one place: what loadConfig (src/config.ts) uses for a variable
 * that is unset or blank. Values are strings, as an environment would hold them.
 */
export const DEFAULTS = {
  PORT: '8080',
  HOST: '0.0.0.0',
  GRAPH_API_URL: 'https://graph.facebook.com',
  GRAPH_API_VERSION: 'v25.0',
  MEDIA_HOSTS: 'lookaside.fbsbx.com',
  CACHE_MAX_BYTES: '268435456',
  CACHE_MAX_ITEM_BYTES: '8388608',
  LOG_LEVEL: 'info',
  UPSTREAM_TIMEOUT_MS: '15000',
  GRAPH_MAX_RETRIES: '2',
  // Graph's lookaside URL lives 5 minutes; keep the resolved answer a minute less so a cached URL is
  // never handed to the CDN in its last seconds.
  RESOLVE_TTL_SECONDS: '240',
  // Unknown ids (code 100/33) are remembered so repeats do not reach Graph: some providers block an
  // account's media lookups after ~20 errors an hour.
  NOT_FOUND_TTL_SECONDS: '60',
  // The content behind a media id never changes, so browsers may keep it; `private` because the
  // response is behind caller auth.
  CLIENT_CACHE_MAX_AGE: '86400',
  JWT_CLOCK_TOLERANCE: '30',
  CORS_ORIGINS: '',
  SHUTDOWN_TIMEOUT_MS: '10000',
  // Node keeps every verified file on disk by default, so media outlives Meta's 7/30-day retention;
  // a Worker has no disk, so it stores nothing unless an R2 binding or a bucket is configured.
  STORE_URL_NODE: 'file:data/media',
  STORE_URL_WORKERS: 'none',
  STORE_MAX_BYTES: '5368709120',
  STORE_MAX_AGE_DAYS: '0',
  // WhatsApp documents go up to 100 MB; anything Graph announces as larger is refused unread.
  MAX_MEDIA_BYTES: '104857600',
  AWS_REGION: 'us-east-1',
  // Media ids waiting to be fetched ahead of any viewer (webhooks, POST /prefetch). A full queue
  // answers 503 + Retry-After, which Meta honours by redelivering later.
  PREFETCH_QUEUE_MAX: '10000',
  PREFETCH_CONCURRENCY: '4',
} as const;
