import { normaliseHostEntry } from './upstream/url-policy.js';
import { loadAccounts, loadWebhookConfig, type WebhookConfig } from './config/account-config.js';
import { loadAuthConfig, type AuthConfig } from './config/auth-config.js';
import { ConfigError, httpUrl, integer, list, optional, value, type Env } from './config/env-readers.js';
import { loadStoreConfig, type Runtime, type StoreConfig } from './config/store-config.js';
import type { Account } from './accounts.js';

/**
 * The one place configuration is read and validated. Pure: it takes the environment as a plain
 * record (process.env on Node, the Worker's `env` on Cloudflare) and either returns a typed Config
 * or throws a ConfigError naming the offending variable. Every default is visible in DEFAULTS
 * (config/defaults.ts); each section's rules live beside it in config/.
 */

export { mergeAccounts, type WebhookConfig } from './config/account-config.js';
export { ASYMMETRIC_ALGORITHMS, loadAuthConfig, MIN_SECRET_BYTES, SYMMETRIC_ALGORITHMS, type AuthConfig } from './config/auth-config.js';
export { DEFAULTS } from './config/defaults.js';
export { ConfigError, type Env } from './config/env-readers.js';
export type { Runtime, S3StoreConfig, StoreConfig } from './config/store-config.js';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

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
