import { SignJWT } from 'jose';
import { MIN_SECRET_BYTES } from '../config.js';
import { isValidMediaId } from '../media/media-id.js';

export interface SignMediaTokenOptions {
  /** One of the proxy's JWT_SECRET values (the first one, when rotating). At least 32 bytes. */
  readonly secret: string;
  /** `*` for every media id, or the ids this viewer may fetch. */
  readonly media: '*' | readonly string[];
  /** Lifetime in seconds. Keep it short: the token may sit in an <img src> URL. */
  readonly ttlSeconds: number;
  /** Set when the proxy has JWT_ISSUER. */
  readonly issuer?: string;
  /** Set when the proxy has JWT_AUDIENCE. */
  readonly audience?: string;
  /** Issue time, ms since epoch (default: now). */
  readonly now?: number;
}

/** Longer-lived tokens are refused: a token in a URL ends up in browser history and screenshots. */
export const MAX_TTL_SECONDS = 30 * 24 * 60 * 60;

/**
 * Signs a caller token the proxy accepts: HS256 with `media`, `iat` and `exp` (required by the
 * proxy), plus `iss`/`aud` when given. Web APIs only (jose on crypto.subtle), so a backend on Node,
 * Deno, Bun or Workers can call it.
 */
export async function signMediaToken(options: SignMediaTokenOptions): Promise<string> {
  const { secret, media, ttlSeconds } = options;
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < MIN_SECRET_BYTES) throw new RangeError(`secret must be at least ${MIN_SECRET_BYTES} bytes`);
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
  }
  if (media !== '*') {
    if (!Array.isArray(media) || media.length === 0) throw new TypeError('media must be "*" or a non-empty list of media ids');
    const bad = media.find((id) => typeof id !== 'string' || !isValidMediaId(id));
    if (bad !== undefined) throw new TypeError(`media id ${JSON.stringify(bad)} is not digits only`);
  }
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const jwt = new SignJWT({ media: media === '*' ? '*' : [...media] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds);
  if (options.issuer !== undefined) jwt.setIssuer(options.issuer);
  if (options.audience !== undefined) jwt.setAudience(options.audience);
  return jwt.sign(key);
}
