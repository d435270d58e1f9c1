import { ACCOUNT_NAME, checkAppSecrets, DEFAULT_ACCOUNT_NAME, splitSecrets, type Account } from './accounts.js';
import { checkTransport, normaliseHostEntry } from './upstream/url-policy.js';

/**
 * The one place configuration is read and validated. Pure: it takes the environment as a plain
 * record (process.env on Node, the Worker's `env` on Cloudflare) and either returns a typed Config
 * or throws a ConfigError naming the offending variable. Every default is visible in DEFAULTS.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'] as const;

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (32 bytes). */
export const MIN_SECRET_BYTES = 32;

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

/** Which runtime loadConfig reads for: only the store's default and r2:// depend on it. */
export type Runtime = 'node' | 'workers';

export interface S3StoreConfig {
  readonly kind: 's3';
  readonly bucket: string;
  /** Key prefix without leading or trailing slash; '' for none. */
  readonly prefix: string;
  readonly region: string;
  /** AWS_ENDPOINT_URL_S3; with it, path-style addressing (`<endpoint>/<bucket>/<key>`). */
  readonly endpoint: string | undefined;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string | undefined;
}

export type StoreConfig =
  | { readonly kind: 'none' }
  /** `path` as configured: absolute, or relative to the working directory (resolved by the runtime). */
  | { readonly kind: 'directory'; readonly path: string; readonly maxBytes: number; readonly maxAgeMs: number }
  | S3StoreConfig
  | { readonly kind: 'r2'; readonly binding: string };

export interface AuthConfig {
  /** HS secrets, all accepted (rotation). Each at least 32 bytes. */
  readonly secrets: readonly string[];
  readonly publicKeyPem: string | undefined;
  readonly jwksUrl: string | undefined;
  /** Accepted `alg` values; symmetric ones apply to secrets, asymmetric ones to keys. */
  readonly algorithms: readonly string[];
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly clockToleranceSeconds: number;
}

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Accounts from the environment: `default` (WHATSAPP_TOKEN) and those WHATSAPP_ACCOUNTS names. */
  readonly accounts: readonly Account[];
  /** WHATSAPP_ACCOUNTS_FILE: more accounts in a JSON file, read by the runtime at start and on reload. */
  readonly accountsFile: string | undefined;
  readonly graphApiUrl: string;
  readonly graphApiVersion: string;
  readonly graphMaxRetries: number;
  /** Normalised MEDIA_HOSTS entries: exact hostnames, or `.suffix` for subdomains. */
  readonly mediaHosts: readonly string[];
  readonly cacheMaxBytes: number;
  readonly cacheMaxItemBytes: number;
  readonly resolveTtlMs: number;
  readonly notFoundTtlMs: number;
  readonly upstreamTimeoutMs: number;
  readonly clientCacheMaxAge: number;
  readonly corsOrigins: readonly string[];
  readonly logLevel: LogLevel;
  readonly metricsToken: string | undefined;
  readonly shutdownTimeoutMs: number;
  readonly auth: AuthConfig;
  readonly store: StoreConfig;
  /** A Graph file_size above this is refused before any download (media_too_large). */
  readonly maxMediaBytes: number;
  readonly webhook: WebhookConfig;
  readonly prefetchQueueMax: number;
  readonly prefetchConcurrency: number;
}

export interface WebhookConfig {
  /** WEBHOOK_VERIFY_TOKEN, for Meta's GET handshake; unset: every handshake answers 403. */
  readonly verifyToken: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: keyof typeof DEFAULTS): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? DEFAULTS[name] : raw.trim();
}

function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

function required(env: Env, name: string): string {
  const raw = optional(env, name);
  if (raw === undefined) throw new ConfigError(name, 'is required but not set');
  return raw;
}

function integer(env: Env, name: keyof typeof DEFAULTS, min: number, max: number): number {
  const raw = value(env, name);
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${raw}`);
  }
  return n;
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function httpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute URL, got "${raw}"`);
  }
  const refusal = checkTransport(url);
  if (refusal === 'scheme') throw new ConfigError(name, 'must use https (plain http only for loopback hosts)');
  if (refusal === 'userinfo') throw new ConfigError(name, 'must not contain credentials');
  if (refusal === 'port') throw new ConfigError(name, 'must use the default https port (other ports only for loopback hosts)');
  if (url.search !== '' || url.hash !== '') throw new ConfigError(name, 'must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

/** The caller-token part of the configuration, also used alone by `npm run token`. */
export function loadAuthConfig(env: Env): AuthConfig {
  const secrets = list(optional(env, 'JWT_SECRET') ?? '');
  const encoder = new TextEncoder();
  for (const secret of secrets) {
    if (encoder.encode(secret).byteLength < MIN_SECRET_BYTES) {
      throw new ConfigError('JWT_SECRET', `each secret must be at least ${MIN_SECRET_BYTES} bytes`);
    }
  }
  const publicKeyPem = optional(env, 'JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  if (publicKeyPem !== undefined && !/-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----/.test(publicKeyPem)) {
    throw new ConfigError('JWT_PUBLIC_KEY', 'must be a PEM "PUBLIC KEY" (SPKI) block');
  }
  const jwksRaw = optional(env, 'JWKS_URL');
  const jwksUrl = jwksRaw === undefined ? undefined : httpUrl('JWKS_URL', jwksRaw);
  if (secrets.length === 0 && publicKeyPem === undefined && jwksUrl === undefined) {
    throw new ConfigError('JWT_SECRET', 'is required (or set JWT_PUBLIC_KEY or JWKS_URL)');
  }

  const known: readonly string[] = [...SYMMETRIC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS];
  const algorithmsRaw = optional(env, 'JWT_ALGORITHMS');
  const algorithms = algorithmsRaw === undefined ? defaultAlgorithms(secrets.length > 0, publicKeyPem !== undefined || jwksUrl !== undefined) : list(algorithmsRaw);
  for (const alg of algorithms) {
    if (!known.includes(alg)) throw new ConfigError('JWT_ALGORITHMS', `unsupported algorithm "${alg}" (known: ${known.join(', ')})`);
  }
  if (algorithms.length === 0) throw new ConfigError('JWT_ALGORITHMS', 'must name at least one algorithm');
  // An algorithm without a key of its family would refuse every token at run time: say so at start.
  for (const alg of algorithms) {
    const isSymmetric = (SYMMETRIC_ALGORITHMS as readonly string[]).includes(alg);
    if (isSymmetric && secrets.length === 0) throw new ConfigError('JWT_ALGORITHMS', `${alg} needs JWT_SECRET`);
    if (!isSymmetric && publicKeyPem === undefined && jwksUrl === undefined) throw new ConfigError('JWT_ALGORITHMS', `${alg} needs JWT_PUBLIC_KEY or JWKS_URL`);
  }

  const tolerance = optional(env, 'JWT_CLOCK_TOLERANCE') ?? DEFAULTS.JWT_CLOCK_TOLERANCE;
  if (!/^\d+$/.test(tolerance) || Number(tolerance) > 3600) {
    throw new ConfigError('JWT_CLOCK_TOLERANCE', `must be whole seconds between 0 and 3600, got "${tolerance}"`);
  }
  return {
    secrets,
    publicKeyPem,
    jwksUrl,
    algorithms,
    issuer: optional(env, 'JWT_ISSUER'),
    audience: optional(env, 'JWT_AUDIENCE'),
    clockToleranceSeconds: Number(tolerance),
  };
}

function defaultAlgorithms(hasSecrets: boolean, hasKeys: boolean): string[] {
  const algs: string[] = [];
  if (hasSecrets) algs.push('HS256');
  if (hasKeys) algs.push('RS256', 'ES256', 'EdDSA');
  return algs;
}

/**
 * Unlike Graph's URL, an S3 endpoint may be plain http on any port (MinIO on a private network): SigV4
 * sends a signature, never the secret key. No credentials, path, query or fragment in it.
 */
function s3Endpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('AWS_ENDPOINT_URL_S3', `must be an absolute URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('AWS_ENDPOINT_URL_S3', 'must be an http(s) URL');
  if (url.username !== '' || url.password !== '') throw new ConfigError('AWS_ENDPOINT_URL_S3', 'must not contain credentials');
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') throw new ConfigError('AWS_ENDPOINT_URL_S3', 'must be an origin like https://s3.example.com, without a path');
  return url.origin;
}

/** S3 bucket names (AWS rules, also R2's and MinIO's): 3-63 of a-z 0-9 . -, starting and ending alnum. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** R2 binding names are JavaScript identifiers in the Worker's env. */
const BINDING = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * STORE_URL: `none`; `file:/abs`, `file:rel` or a plain path; `s3://bucket[/prefix]`; `r2://BINDING`.
 * The size and age bounds apply to the directory store only: buckets use lifecycle rules (README).
 */
function loadStoreConfig(env: Env, runtime: Runtime): StoreConfig {
  const raw = optional(env, 'STORE_URL') ?? (runtime === 'node' ? DEFAULTS.STORE_URL_NODE : DEFAULTS.STORE_URL_WORKERS);
  const maxBytes = integer(env, 'STORE_MAX_BYTES', 1, Number.MAX_SAFE_INTEGER);
  const maxAgeDays = integer(env, 'STORE_MAX_AGE_DAYS', 0, 36_500);
  if (raw === 'none') return { kind: 'none' };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === 's3') {
    const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(raw);
    const bucket = match?.[1] ?? '';
    if (!BUCKET.test(bucket)) throw new ConfigError('STORE_URL', `"${raw}" must be s3://bucket or s3://bucket/prefix with a valid bucket name`);
    const prefix = (match?.[2] ?? '').replace(/^\/+|\/+$/g, '');
    if (/[^A-Za-z0-9!_.*'()/-]/.test(prefix) || prefix.split('/').some((part) => part === '.' || part === '..')) {
      throw new ConfigError('STORE_URL', 'the prefix may hold only letters, digits, / and !_.*\'()-');
    }
    const endpointRaw = optional(env, 'AWS_ENDPOINT_URL_S3');
    return {
      kind: 's3',
      bucket,
      prefix,
      region: optional(env, 'AWS_REGION') ?? DEFAULTS.AWS_REGION,
      endpoint: endpointRaw === undefined ? undefined : s3Endpoint(endpointRaw),
      accessKeyId: required(env, 'AWS_ACCESS_KEY_ID'),
      secretAccessKey: required(env, 'AWS_SECRET_ACCESS_KEY'),
      sessionToken: optional(env, 'AWS_SESSION_TOKEN'),
    };
  }
  if (scheme === 'r2') {
    const binding = /^r2:\/\/(.+)$/i.exec(raw)?.[1] ?? '';
    if (!BINDING.test(binding)) throw new ConfigError('STORE_URL', `"${raw}" must be r2://BINDING, the name of an R2 bucket binding`);
    if (runtime !== 'workers') throw new ConfigError('STORE_URL', 'r2:// works on Cloudflare Workers only; on Node use s3:// with R2\'s S3 endpoint');
    return { kind: 'r2', binding };
  }
  if (runtime === 'workers') throw new ConfigError('STORE_URL', 'a Worker has no disk: use none, r2://BINDING or s3://bucket');
  if (scheme !== undefined && scheme !== 'file' && scheme.length > 1) throw new ConfigError('STORE_URL', `unknown scheme "${scheme}:" (use none, file:, s3:// or r2://)`);
  // file:///abs and file:/abs are absolute, file:rel is relative to the working directory.
  const path = scheme === 'file' ? raw.slice('file:'.length).replace(/^\/\/(?=\/)/, '') : raw;
  if (path === '' || path.includes('\0')) throw new ConfigError('STORE_URL', 'the directory path is empty');
  return { kind: 'directory', path, maxBytes, maxAgeMs: maxAgeDays * 86_400_000 };
}

/**
 * WHATSAPP_TOKEN (+ WHATSAPP_APP_SECRET) is the account `default`; WHATSAPP_ACCOUNTS=acme,globex adds
 * WHATSAPP_TOKEN_ACME, WHATSAPP_APP_SECRET_ACME, … (names upper-cased): the same names work as Node
 * environment variables and as Workers secrets. The default account need not exist when others do.
 */
function loadAccounts(env: Env): { accounts: Account[]; accountsFile: string | undefined } {
  const accounts: Account[] = [];
  const defaultToken = optional(env, 'WHATSAPP_TOKEN');
  if (defaultToken !== undefined) accounts.push({ name: DEFAULT_ACCOUNT_NAME, token: defaultToken, appSecrets: appSecrets(env, 'WHATSAPP_APP_SECRET') });
  for (const name of list(optional(env, 'WHATSAPP_ACCOUNTS') ?? '')) {
    if (!ACCOUNT_NAME.test(name)) throw new ConfigError('WHATSAPP_ACCOUNTS', `"${name.slice(0, 40)}" is not an account name (1-32 of a-z 0-9 _)`);
    if (name === DEFAULT_ACCOUNT_NAME) throw new ConfigError('WHATSAPP_ACCOUNTS', 'the default account is WHATSAPP_TOKEN; do not list it');
    if (accounts.some((a) => a.name === name)) throw new ConfigError('WHATSAPP_ACCOUNTS', `"${name}" is listed twice`);
    const suffix = name.toUpperCase();
    accounts.push({ name, token: required(env, `WHATSAPP_TOKEN_${suffix}`), appSecrets: appSecrets(env, `WHATSAPP_APP_SECRET_${suffix}`) });
  }
  const accountsFile = optional(env, 'WHATSAPP_ACCOUNTS_FILE');
  if (accounts.length === 0 && accountsFile === undefined) throw new ConfigError('WHATSAPP_TOKEN', 'is required but not set (or configure WHATSAPP_ACCOUNTS / WHATSAPP_ACCOUNTS_FILE)');
  return { accounts, accountsFile };
}

function appSecrets(env: Env, name: string): string[] {
  const secrets = splitSecrets(optional(env, name) ?? '');
  const short = checkAppSecrets(secrets);
  if (short !== undefined) throw new ConfigError(name, short);
  return secrets;
}

/** The accounts of the environment and of WHATSAPP_ACCOUNTS_FILE together; a name in both is an error. */
export function mergeAccounts(fromEnv: readonly Account[], fromFile: readonly Account[]): Account[] {
  const clash = fromFile.find((f) => fromEnv.some((e) => e.name === f.name));
  if (clash) throw new ConfigError('WHATSAPP_ACCOUNTS_FILE', `account "${clash.name}" is also configured in the environment`);
  return [...fromEnv, ...fromFile];
}

export function loadConfig(env: Env, runtime: Runtime = 'node'): Config {
  const accounts = loadAccounts(env);
  const logLevel = value(env, 'LOG_LEVEL').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const version = value(env, 'GRAPH_API_VERSION');
  if (!/^v\d+\.\d+$/.test(version)) throw new ConfigError('GRAPH_API_VERSION', `must look like v25.0, got "${version}"`);

  const mediaHosts: string[] = [];
  for (const entry of list(value(env, 'MEDIA_HOSTS'))) {
    const normalised = normaliseHostEntry(entry);
    if (normalised === undefined) throw new ConfigError('MEDIA_HOSTS', `"${entry}" is not a hostname or .suffix`);
    mediaHosts.push(normalised);
  }
  if (mediaHosts.length === 0) throw new ConfigError('MEDIA_HOSTS', 'must list at least one host');

  const corsOrigins: string[] = [];
  for (const origin of list(value(env, 'CORS_ORIGINS'))) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin like https://app.example`);
    }
    if (parsed.origin === 'null' || parsed.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError('CORS_ORIGINS', `"${origin}" is not an origin like https://app.example`);
    }
    corsOrigins.push(parsed.origin);
  }

  const cacheMaxBytes = integer(env, 'CACHE_MAX_BYTES', 0, Number.MAX_SAFE_INTEGER);
  const cacheMaxItemBytes = integer(env, 'CACHE_MAX_ITEM_BYTES', 0, 512 * 1024 * 1024);
  // CACHE_MAX_BYTES=0 turns the memory cache off (README); the item limit then only says which
  // files are downloaded whole and verified before a byte is sent, and which are streamed.
  if (cacheMaxBytes > 0 && cacheMaxItemBytes > cacheMaxBytes) {
    throw new ConfigError('CACHE_MAX_ITEM_BYTES', `must not exceed CACHE_MAX_BYTES (${cacheMaxBytes})`);
  }

  const metricsToken = optional(env, 'METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');
  }

  return {
    port: integer(env, 'PORT', 0, 65535),
    host: value(env, 'HOST'),
    ...accounts,
    graphApiUrl: httpUrl('GRAPH_API_URL', value(env, 'GRAPH_API_URL')),
    graphApiVersion: version,
    graphMaxRetries: integer(env, 'GRAPH_MAX_RETRIES', 0, 10),
    mediaHosts,
    cacheMaxBytes,
    cacheMaxItemBytes,
    resolveTtlMs: integer(env, 'RESOLVE_TTL_SECONDS', 1, 280) * 1000,
    notFoundTtlMs: integer(env, 'NOT_FOUND_TTL_SECONDS', 0, 86400) * 1000,
    upstreamTimeoutMs: integer(env, 'UPSTREAM_TIMEOUT_MS', 1, 600_000),
    clientCacheMaxAge: integer(env, 'CLIENT_CACHE_MAX_AGE', 0, 31_536_000),
    corsOrigins,
    logLevel: logLevel as LogLevel,
    metricsToken,
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 0, 600_000),
    auth: loadAuthConfig(env),
    store: loadStoreConfig(env, runtime),
    maxMediaBytes: integer(env, 'MAX_MEDIA_BYTES', 1, 5 * 1024 ** 3),
    webhook: loadWebhookConfig(env, accounts.accounts, accounts.accountsFile),
    prefetchQueueMax: integer(env, 'PREFETCH_QUEUE_MAX', 1, 10_000_000),
    prefetchConcurrency: integer(env, 'PREFETCH_CONCURRENCY', 1, 64),
  };
}

function loadWebhookConfig(env: Env, accounts: readonly Account[], accountsFile: string | undefined): WebhookConfig {
  const verifyToken = optional(env, 'WEBHOOK_VERIFY_TOKEN');
  // A verify token without any app secret would pass Meta's handshake on an endpoint that then answers
  // 404 to every delivery: refuse the half-configuration at start instead.
  if (verifyToken !== undefined && accountsFile === undefined && accounts.every((a) => a.appSecrets.length === 0)) {
    throw new ConfigError('WEBHOOK_VERIFY_TOKEN', 'needs WHATSAPP_APP_SECRET (the webhook endpoints are off without it)');
  }
  if (verifyToken !== undefined && verifyToken.length > 256) throw new ConfigError('WEBHOOK_VERIFY_TOKEN', 'must be at most 256 characters');
  return { verifyToken };
}
