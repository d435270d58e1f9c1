import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, loadConfig, type Runtime } from '../src/config.js';

const SECRET = 's'.repeat(32);
const base = { WHATSAPP_TOKEN: 'business-token', JWT_SECRET: SECRET };

function failure(env: Record<string, string>, runtime: Runtime = 'node'): ConfigError {
  try {
    loadConfig(env, runtime);
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

describe('loadConfig: the store (STORE_URL and its bounds)', () => {
  const aws = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret-example' };
  const store = (env: Record<string, string>, runtime: Runtime = 'node') => loadConfig({ ...base, ...env }, runtime).store;

  it('keeps media under data/media on Node by default, bounded at 5 GiB and no age, and nothing on Workers', () => {
    expect(store({})).toEqual({ kind: 'directory', path: 'data/media', maxBytes: 5_368_709_120, maxAgeMs: 0 });
    expect(store({}, 'workers')).toEqual({ kind: 'none' });
    expect(loadConfig(base).maxMediaBytes).toBe(104_857_600);
  });

  it('reads none, file:/abs, file:///abs, file:rel and a plain path', () => {
    expect(store({ STORE_URL: 'none' })).toEqual({ kind: 'none' });
    expect(store({ STORE_URL: 'file:/var/lib/media' })).toMatchObject({ kind: 'directory', path: '/var/lib/media' });
    expect(store({ STORE_URL: 'file:///var/lib/media' })).toMatchObject({ kind: 'directory', path: '/var/lib/media' });
    expect(store({ STORE_URL: 'file:cache/media' })).toMatchObject({ kind: 'directory', path: 'cache/media' });
    expect(store({ STORE_URL: '/srv/media' })).toMatchObject({ kind: 'directory', path: '/srv/media' });
    expect(store({ STORE_URL: 'media' })).toMatchObject({ kind: 'directory', path: 'media' });
  });

  it('reads the directory bounds: STORE_MAX_BYTES in bytes and STORE_MAX_AGE_DAYS in days', () => {
    expect(store({ STORE_URL: 'file:/m', STORE_MAX_BYTES: '1000', STORE_MAX_AGE_DAYS: '30' })).toEqual({ kind: 'directory', path: '/m', maxBytes: 1000, maxAgeMs: 30 * 86_400_000 });
    expect(loadConfig({ ...base, MAX_MEDIA_BYTES: '2000' }).maxMediaBytes).toBe(2000);
  });

  it('reads s3://bucket and s3://bucket/prefix with the AWS_* variables', () => {
    expect(store({ STORE_URL: 's3://media-archive', ...aws })).toEqual({
      kind: 's3',
      bucket: 'media-archive',
      prefix: '',
      region: 'us-east-1',
      endpoint: undefined,
      accessKeyId: 'AKIAEXAMPLE',
      secretAccessKey: 'secret-example',
      sessionToken: undefined,
    });
    expect(
      store({ STORE_URL: 's3://media.archive-1/wa/prod/', ...aws, AWS_REGION: 'auto', AWS_SESSION_TOKEN: 'session', AWS_ENDPOINT_URL_S3: 'http://10.0.0.5:9000/' }),
    ).toMatchObject({ bucket: 'media.archive-1', prefix: 'wa/prod', region: 'auto', endpoint: 'http://10.0.0.5:9000', sessionToken: 'session' });
    // The same URL works on Workers.
    expect(store({ STORE_URL: 's3://media-archive', ...aws }, 'workers')).toMatchObject({ kind: 's3' });
  });

  it('reads r2://BINDING on Workers and refuses it on Node, pointing at the S3 endpoint', () => {
    expect(store({ STORE_URL: 'r2://MEDIA_BUCKET' }, 'workers')).toEqual({ kind: 'r2', binding: 'MEDIA_BUCKET' });
    const error = failure({ ...base, STORE_URL: 'r2://MEDIA_BUCKET' });
    expect(error.variable).toBe('STORE_URL');
    expect(error.message).toMatch(/Workers only.*s3:\/\//);
  });

  it('refuses a directory on Workers: a Worker has no disk', () => {
    expect(failure({ ...base, STORE_URL: 'file:/var/lib/media' }, 'workers').variable).toBe('STORE_URL');
    expect(failure({ ...base, STORE_URL: 'data/media' }, 'workers').variable).toBe('STORE_URL');
  });

  it.each([
    [{ STORE_URL: 's3://ab', ...aws }, 'STORE_URL'],
    [{ STORE_URL: `s3://${'a'.repeat(64)}`, ...aws }, 'STORE_URL'],
    [{ STORE_URL: 's3://Media-Archive', ...aws }, 'STORE_URL'],
    [{ STORE_URL: 's3://media_archive', ...aws }, 'STORE_URL'],
    [{ STORE_URL: 's3://-media', ...aws }, 'STORE_URL'],
    [{ STORE_URL: 's3://media-', ...aws }, 'STORE_URL'],
    [{ STORE_URL: 's3://', ...aws }, 'STORE_URL'],
    [{ STORE_URL: 's3://media/a b', ...aws }, 'STORE_URL'],
    [{ STORE_URL: 's3://media/../escape', ...aws }, 'STORE_URL'],
    [{ STORE_URL: 's3://media-archive', AWS_SECRET_ACCESS_KEY: 'x' }, 'AWS_ACCESS_KEY_ID'],
    [{ STORE_URL: 's3://media-archive', AWS_ACCESS_KEY_ID: 'x' }, 'AWS_SECRET_ACCESS_KEY'],
    [{ STORE_URL: 's3://media-archive', ...aws, AWS_ENDPOINT_URL_S3: 'ftp://minio.local' }, 'AWS_ENDPOINT_URL_S3'],
    [{ STORE_URL: 's3://media-archive', ...aws, AWS_ENDPOINT_URL_S3: 'https://key:secret@minio.local' }, 'AWS_ENDPOINT_URL_S3'],
    [{ STORE_URL: 's3://media-archive', ...aws, AWS_ENDPOINT_URL_S3: 'https://minio.local/bucket' }, 'AWS_ENDPOINT_URL_S3'],
    [{ STORE_URL: 's3://media-archive', ...aws, AWS_ENDPOINT_URL_S3: 'minio.local' }, 'AWS_ENDPOINT_URL_S3'],
    [{ STORE_URL: 'r2://media-bucket' }, 'STORE_URL'],
    [{ STORE_URL: 'http://example.com/media' }, 'STORE_URL'],
    [{ STORE_URL: 'file:' }, 'STORE_URL'],
    [{ STORE_MAX_BYTES: '0' }, 'STORE_MAX_BYTES'],
    [{ STORE_MAX_BYTES: '5GB' }, 'STORE_MAX_BYTES'],
    [{ STORE_MAX_BYTES: '-1' }, 'STORE_MAX_BYTES'],
    [{ STORE_MAX_AGE_DAYS: '1.5' }, 'STORE_MAX_AGE_DAYS'],
    [{ STORE_MAX_AGE_DAYS: '36501' }, 'STORE_MAX_AGE_DAYS'],
    [{ MAX_MEDIA_BYTES: '0' }, 'MAX_MEDIA_BYTES'],
    [{ MAX_MEDIA_BYTES: '100MB' }, 'MAX_MEDIA_BYTES'],
    [{ MAX_MEDIA_BYTES: String(5 * 1024 ** 3 + 1) }, 'MAX_MEDIA_BYTES'],
  ])('refuses %o naming %s', (override, variable) => {
    const error = failure({ ...base, ...override });
    expect(error.variable).toBe(variable);
    expect(error.message.startsWith(`${variable}: `)).toBe(true);
  });

  it('never repeats a credential in its message', () => {
    const error = failure({ ...base, STORE_URL: 's3://Bad_Bucket', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'very-secret-key' });
    expect(error.message).not.toContain('very-secret-key');
    expect(failure({ ...base, STORE_URL: 's3://media-archive', ...aws, AWS_ENDPOINT_URL_S3: 'https://key:very-secret@minio.local' }).message).not.toContain('very-secret');
  });
});
