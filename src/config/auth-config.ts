import { DEFAULTS } from './defaults.js';
import { ConfigError, httpUrl, list, optional, type Env } from './env-readers.js';

export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'] as const;

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (32 bytes). */
export const MIN_SECRET_BYTES = 32;

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
