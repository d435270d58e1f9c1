import { DEFAULTS } from './defaults.js';
import { ConfigError, integer, optional, required, type Env } from './env-readers.js';

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

/**
 * Unlike Graph's URL, an S3 endpoint may be plain http on any port (MinIO on a private network): SigV4
 * sends a signature, never the secret key. No credentials, path, query or fragment in it.
 */
export function s3Endpoint(raw: string): string {
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
export function loadStoreConfig(env: Env, runtime: Runtime): StoreConfig {
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
