import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, importSPKI, jwtVerify, type JWTPayload, type ProtectedHeaderParameters, type JWTVerifyGetKey, type CryptoKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { DEFAULT_ACCOUNT_NAME as DEFAULT_ACCOUNT } from '../accounts.js';
import type { Clock } from '../clock.js';
import { ASYMMETRIC_ALGORITHMS, SYMMETRIC_ALGORITHMS, type AuthConfig } from '../config.js';
import { ProxyError } from '../errors.js';
import type { Fetch } from '../upstream/fetch-upstream.js';

/** What a verified caller token allows. */
export interface CallerGrant {
  /** `*` for every id, otherwise the ids listed in the `media` claim. Empty when the claim is missing or malformed. */
  readonly media: '*' | ReadonlySet<string>;
  /** The space-separated `scope` claim (RFC 8693 §4.2, OAuth style), e.g. `media:prefetch`. Empty when absent. */
  readonly scope: ReadonlySet<string>;
  /** The WhatsApp account the token is for: the `acct` claim, `default` without one. */
  readonly account: string;
  /** `exp`, in ms since epoch. */
  readonly expiresAt: number;
}

export type VerifyCallerToken = (token: string) => Promise<CallerGrant>;

export function grantCovers(grant: CallerGrant, mediaId: string): boolean {
  return grant.media === '*' || grant.media.has(mediaId);
}

/** Account names as issue 13 defines them (they become env-variable suffixes and store key prefixes). */
export const ACCOUNT_NAME = /^[a-z0-9_]{1,32}$/;

export interface CallerTokenDeps {
  readonly fetch: Fetch;
  readonly clock: Clock;
}

const MAX_TOKEN_LENGTH = 8 * 1024;
// Verified tokens are cached until exp so a cache hit costs a map lookup, not an HMAC. Bounded both
// in entries and in how long an entry may live (a token's exp can be far away).
const VERIFIED_CACHE_MAX = 10_000;
const VERIFIED_CACHE_MAX_TTL_MS = 5 * 60_000;

const symmetric: readonly string[] = SYMMETRIC_ALGORITHMS;
const asymmetric: readonly string[] = ASYMMETRIC_ALGORITHMS;

/**
 * Verifies caller JWTs with jose. Only the configured algorithms are accepted, and each key kind is
 * used only with its own family: HS secrets for HS*, PEM/JWKS keys for RS/PS/ES/EdDSA. That rules out
 * `alg: none` and the classic confusion of verifying an HS token with a public key as the secret.
 * `exp` is required, `nbf` honoured, `iss`/`aud` checked when configured.
 */
export function createCallerTokenVerifier(config: AuthConfig, deps: CallerTokenDeps): VerifyCallerToken {
  const secrets = config.secrets.map((s) => new TextEncoder().encode(s));
  const symmetricAlgs = config.algorithms.filter((a) => symmetric.includes(a));
  const asymmetricAlgs = config.algorithms.filter((a) => asymmetric.includes(a));
  const pemKeys = new Map<string, Promise<CryptoKey>>();
  const jwks = config.jwksUrl
    ? createRemoteJWKSet(new URL(config.jwksUrl), { [customFetch]: (url: string, init: RequestInit) => deps.fetch(url, init) })
    : undefined;

  const options = {
    requiredClaims: ['exp'],
    clockTolerance: config.clockToleranceSeconds,
    currentDate: undefined as Date | undefined,
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  };

  const asymmetricKey: JWTVerifyGetKey = async (header, token) => {
    const alg = header.alg ?? '';
    if (config.publicKeyPem !== undefined) {
      let key = pemKeys.get(alg);
      if (key === undefined) {
        key = importSPKI(config.publicKeyPem, alg);
        pemKeys.set(alg, key);
      }
      try {
        return await key;
      } catch {
        // The PEM does not fit this alg (e.g. an EC key for RS256): fall through to the JWKS if any.
        if (jwks === undefined) throw new errors.JWSSignatureVerificationFailed();
      }
    }
    if (jwks !== undefined) {
      try {
        return await jwks(header, token);
      } catch (error) {
        // No key for this kid is the token's problem; anything else (key server down, timing out,
        // answering non-200 or garbage) is ours, and must not read as "your token is bad".
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
        throw new KeySetUnavailable(error);
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  };

  async function verifyUncached(token: string): Promise<JWTPayload> {
    const currentDate = new Date(deps.clock.now());
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      header = {};
    }
    // RFC 7515 §4.1.4: kid is a string. jose ignores kid when it verifies with a secret, so a
    // malformed one would pass unnoticed; refuse it as a malformed header instead.
    if ('kid' in header && typeof header.kid !== 'string') throw new errors.JWSInvalid('"kid" (Key ID) Header Parameter must be a string');
    const alg = typeof header.alg === 'string' ? header.alg : undefined;
    if (alg !== undefined && symmetricAlgs.includes(alg) && secrets.length > 0) {
      let lastError: unknown;
      for (const secret of secrets) {
        try {
          return (await jwtVerify(token, secret, { ...options, currentDate, algorithms: symmetricAlgs })).payload;
        } catch (error) {
          lastError = error;
          // Another secret can only help when the signature was the problem.
          if (!(error instanceof errors.JWSSignatureVerificationFailed)) break;
        }
      }
      throw lastError;
    }
    if (alg !== undefined && asymmetricAlgs.includes(alg) && (config.publicKeyPem !== undefined || jwks !== undefined)) {
      return (await jwtVerify(token, asymmetricKey, { ...options, currentDate, algorithms: asymmetricAlgs })).payload;
    }
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }

  const verified = new LRUCache<string, CallerGrant>({ max: VERIFIED_CACHE_MAX, ttlResolution: 0, perf: { now: () => deps.clock.now() } });

  return async (token) => {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new ProxyError('unauthorized');
    const cached = verified.get(token);
    // Re-check exp against the injected clock: the LRU's TTL is coarse and clock tolerance applies.
    if (cached !== undefined && cached.expiresAt + config.clockToleranceSeconds * 1000 > deps.clock.now()) return cached;
    let payload: JWTPayload;
    try {
      payload = await verifyUncached(token);
    } catch (error) {
      if (error instanceof KeySetUnavailable) throw new ProxyError('auth_unavailable', { retryAfter: 30, cause: error.cause });
      throw new ProxyError('unauthorized', { detail: describeJoseFailure(error), cause: error });
    }
    // RFC 7519 §2 NumericDate: jose checks that exp is a number, and JSON reads 1e400 as Infinity.
    if (!Number.isFinite(payload.exp)) throw new ProxyError('unauthorized', { detail: 'token claim "exp" is not acceptable' });
    const account = accountClaim(payload.acct);
    // A malformed acct must not silently fall back to the default account's media.
    if (account === undefined) throw new ProxyError('unauthorized', { detail: 'token claim "acct" is not acceptable' });
    const grant: CallerGrant = { media: mediaClaim(payload.media), scope: scopeClaim(payload.scope), account, expiresAt: (payload.exp ?? 0) * 1000 };
    const ttl = Math.min(VERIFIED_CACHE_MAX_TTL_MS, grant.expiresAt - deps.clock.now());
    if (ttl > 0) verified.set(token, grant, { ttl });
    return grant;
  };
}

/** The JWKS could not be fetched or read: a 503 for the caller, a warning for the operator. */
class KeySetUnavailable extends Error {
  override readonly name = 'KeySetUnavailable';
  constructor(cause: unknown) {
    super('JWKS_URL could not be fetched or read', { cause });
  }
}

function mediaClaim(claim: unknown): CallerGrant['media'] {
  if (claim === '*') return '*';
  if (Array.isArray(claim)) return new Set(claim.filter((id): id is string => typeof id === 'string'));
  return new Set();
}

function scopeClaim(claim: unknown): ReadonlySet<string> {
  return typeof claim === 'string' ? new Set(claim.split(' ').filter((s) => s !== '')) : new Set();
}

function accountClaim(claim: unknown): string | undefined {
  if (claim === undefined) return DEFAULT_ACCOUNT;
  return typeof claim === 'string' && ACCOUNT_NAME.test(claim) ? claim : undefined;
}

/** A caller-safe reason: jose's codes, never the token or key material. */
function describeJoseFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `token claim "${error.claim}" is not acceptable`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key matches the token';
  if (error instanceof errors.JOSEError) return 'token invalid';
  return 'token malformed';
}
