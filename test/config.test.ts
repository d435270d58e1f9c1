import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, loadConfig } from '../src/config.js';

const SECRET = 's'.repeat(32);
const base = { WHATSAPP_TOKEN: 'business-token', JWT_SECRET: SECRET };

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('loadConfig accepted the environment');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      graphApiUrl: 'https://graph.facebook.com',
      graphApiVersion: 'v25.0',
      mediaHosts: ['lookaside.fbsbx.com'],
      cacheMaxBytes: 268_435_456,
      cacheMaxItemBytes: 8_388_608,
      logLevel: 'info',
      upstreamTimeoutMs: 15_000,
      resolveTtlMs: 240_000,
      notFoundTtlMs: 60_000,
      corsOrigins: [],
      shutdownTimeoutMs: 10_000,
      auth: { secrets: [SECRET], algorithms: ['HS256'], clockToleranceSeconds: 30 },
    });
    expect(config.resolveTtlMs).toBeLessThan(5 * 60_000); // below the lookaside URL's 5-minute life
    expect(DEFAULTS.PORT).toBe('8080');
  });

  it('accepts CACHE_MAX_BYTES=0 alone: the README documents 0 as "disables the memory cache"', () => {
    const config = loadConfig({ ...base, CACHE_MAX_BYTES: '0' });
    expect(config.cacheMaxBytes).toBe(0);
  });

  it('reads every variable it is given', () => {
    const config = loadConfig({
      ...base,
      PORT: '9000',
      HOST: '127.0.0.1',
      GRAPH_API_URL: 'https://graph.example.com/',
      GRAPH_API_VERSION: 'v23.0',
      MEDIA_HOSTS: 'Lookaside.fbsbx.com, .cdn.example.com',
      CACHE_MAX_BYTES: '1000',
      CACHE_MAX_ITEM_BYTES: '100',
      LOG_LEVEL: 'WARN',
      JWT_SECRET: `${SECRET},${'t'.repeat(40)}`,
      JWT_ISSUER: 'backend',
      JWT_AUDIENCE: 'media',
    });
    expect(config).toMatchObject({
      port: 9000,
      host: '127.0.0.1',
      graphApiUrl: 'https://graph.example.com',
      graphApiVersion: 'v23.0',
      mediaHosts: ['lookaside.fbsbx.com', '.cdn.example.com'],
      cacheMaxBytes: 1000,
      cacheMaxItemBytes: 100,
      logLevel: 'warn',
      auth: { issuer: 'backend', audience: 'media' },
    });
    expect(config.auth.secrets).toHaveLength(2);
  });

  it.each([
    [{ WHATSAPP_TOKEN: '' }, 'WHATSAPP_TOKEN'],
    [{ JWT_SECRET: '' }, 'JWT_SECRET'],
    [{ JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
    [{ PORT: '80a' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ GRAPH_API_URL: 'not a url' }, 'GRAPH_API_URL'],
    [{ GRAPH_API_URL: 'http://graph.facebook.com' }, 'GRAPH_API_URL'],
    [{ GRAPH_API_URL: 'https://user:pw@graph.facebook.com' }, 'GRAPH_API_URL'],
    [{ GRAPH_API_VERSION: '25' }, 'GRAPH_API_VERSION'],
    [{ MEDIA_HOSTS: ' , ' }, 'MEDIA_HOSTS'],
    [{ MEDIA_HOSTS: 'https://x.example/' }, 'MEDIA_HOSTS'],
    [{ MEDIA_HOSTS: '.10.0.0.1' }, 'MEDIA_HOSTS'],
    [{ CACHE_MAX_BYTES: '-1' }, 'CACHE_MAX_BYTES'],
    [{ CACHE_MAX_BYTES: '100', CACHE_MAX_ITEM_BYTES: '200' }, 'CACHE_MAX_ITEM_BYTES'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS'],
    [{ JWT_ALGORITHMS: 'none' }, 'JWT_ALGORITHMS'],
    [{ JWT_PUBLIC_KEY: 'abc' }, 'JWT_PUBLIC_KEY'],
    [{ JWKS_URL: 'http://keys.example.com/jwks.json' }, 'JWKS_URL'],
    [{ JWT_CLOCK_TOLERANCE: '-5' }, 'JWT_CLOCK_TOLERANCE'],
    [{ CORS_ORIGINS: 'app.example' }, 'CORS_ORIGINS'],
    [{ METRICS_TOKEN: 'short' }, 'METRICS_TOKEN'],
  ])('refuses %o naming %s', (override, variable) => {
    const error = failure({ ...base, ...override });
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('reads the webhook and prefetch settings: secrets to rotate, the verify token, queue bounds', () => {
    const secrets = ['a'.repeat(32), 'b'.repeat(32)];
    const config = loadConfig({ ...base, WHATSAPP_APP_SECRET: ` ${secrets[0]} , ${secrets[1]} `, WEBHOOK_VERIFY_TOKEN: 'tok', PREFETCH_QUEUE_MAX: '50', PREFETCH_CONCURRENCY: '8' });
    expect(config).toMatchObject({ webhook: { verifyToken: 'tok' }, prefetchQueueMax: 50, prefetchConcurrency: 8 });
    expect(config.accounts.find((a) => a.name === 'default')?.appSecrets).toEqual(secrets);
    expect(loadConfig(base)).toMatchObject({ webhook: { verifyToken: undefined }, prefetchQueueMax: 10_000, prefetchConcurrency: 4 });
    expect(loadConfig(base).accounts.find((a) => a.name === 'default')?.appSecrets).toEqual([]);
  });

  it.each([
    [{ WHATSAPP_APP_SECRET: 'short' }, 'WHATSAPP_APP_SECRET'],
    [{ WEBHOOK_VERIFY_TOKEN: 'token-without-secret' }, 'WEBHOOK_VERIFY_TOKEN'],
    [{ PREFETCH_QUEUE_MAX: '0' }, 'PREFETCH_QUEUE_MAX'],
    [{ PREFETCH_QUEUE_MAX: 'lots' }, 'PREFETCH_QUEUE_MAX'],
    [{ PREFETCH_CONCURRENCY: '0' }, 'PREFETCH_CONCURRENCY'],
    [{ PREFETCH_CONCURRENCY: '65' }, 'PREFETCH_CONCURRENCY'],
  ])('refuses the webhook/prefetch setting %o naming %s', (override, variable) => {
    expect(failure({ ...base, ...override }).variable).toBe(variable);
  });

  it('allows plain http and custom ports only for loopback hosts (local fakes)', () => {
    expect(loadConfig({ ...base, GRAPH_API_URL: 'http://127.0.0.1:4000' }).graphApiUrl).toBe('http://127.0.0.1:4000');
    expect(failure({ ...base, GRAPH_API_URL: 'https://graph.facebook.com:8443' }).variable).toBe('GRAPH_API_URL');
  });

  it('accepts a public key or JWKS URL instead of a secret', () => {
    expect(loadConfig({ WHATSAPP_TOKEN: 'x', JWKS_URL: 'https://auth.example.com/.well-known/jwks.json' }).auth.algorithms).toEqual(['RS256', 'ES256', 'EdDSA']);
  });
});
