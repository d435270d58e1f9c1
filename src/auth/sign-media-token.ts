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
  /**
   * Align `iat` and `exp` to windows of this many seconds, so that every token minted for the same
   * claims within one window is the same string (and so is the URL carrying it). The token then stays
   * valid for at least `ttlSeconds` and at most `windowSeconds + ttlSeconds` from the moment it is
   * minted. Without it, `iat` is the minting second and the token lives exactly `ttlSeconds`.
   */
  readonly windowSeconds?: number;
  /** The WhatsApp account the token is for (`acct` claim), `[a-z0-9_]{1,32}`. */
  readonly account?: string;
  /** Space-separated scopes (`scope` claim, RFC 8693 §4.2 / RFC 6749 §3.3), e.g. "media:delete media:prefetch". */
  readonly scope?: string;
  /** Set when the proxy has JWT_ISSUER. */
  readonly issuer?: string;
  /** Set when the proxy has JWT_AUDIENCE. */
  readonly audience?: string;
  /** Issue time, ms since epoch (default: now). */
  readonly now?: number;
}

/** Longer-lived tokens are refused: a token in a URL ends up in browser history and screenshots. */
export const MAX_TTL_SECONDS = 30 * 24 * 60 * 60;

const ACCOUNT_NAME = /^[a-z0-9_]{1,32}$/;
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), joined by single spaces.
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*$/;

/** `iat` and `exp` in seconds since epoch. */
export interface TokenTimes {
  readonly iat: number;
  readonly exp: number;
}

/**
 * Without a window: `iat` is now, `exp` is `iat + ttl`. With one: `iat` is the start of the window
 * holding now and `exp` is the end of that window plus `ttl`, so a token minted at any instant of the
 * window is valid for more than `ttl` and at most `window + ttl`. An `iat` up to a window in the past
 * is harmless: the proxy checks `exp` and `nbf` (not emitted here), never the token's age.
 */
export function tokenTimes(nowMs: number, ttlSeconds: number, windowSeconds?: number): TokenTimes {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > MAX_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
  }
  if (!Number.isFinite(nowMs) || nowMs < 0) throw new RangeError('now must be a time in ms since epoch');
  const nowSeconds = Math.floor(nowMs / 1000);
  if (windowSeconds === undefined) return { iat: nowSeconds, exp: nowSeconds + ttlSeconds };
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds <= 0) {
    throw new RangeError('windowSeconds must be a whole number of seconds, at least 1');
  }
  if (windowSeconds + ttlSeconds > MAX_TTL_SECONDS) {
    throw new RangeError(
      `windowSeconds (${windowSeconds}) + ttlSeconds (${ttlSeconds}) must be at most ${MAX_TTL_SECONDS} (30 days): ` +
        'a token minted at the start of a window stays valid for both',
    );
  }
  const windowStart = Math.floor(nowSeconds / windowSeconds) * windowSeconds;
  return { iat: windowStart, exp: windowStart + windowSeconds + ttlSeconds };
}

/**
 * Signs a caller token the proxy accepts: HS256 with `media`, `iat` and `exp` (required by the
 * proxy), plus `iss`/`aud`/`acct`/`scope` when given. Web APIs only (jose on crypto.subtle), so a
 * backend on Node, Deno, Bun or Workers can call it.
 *
 * The claims object is built here in one fixed order and handed to jose whole (its setters would
 * append in call order), so equal options and an equal window give byte-for-byte equal JSON; HS256
 * over equal bytes gives an equal signature.
 */
export async function signMediaToken(options: SignMediaTokenOptions): Promise<string> {
  const { secret, media, account, scope, issuer, audience } = options;
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < MIN_SECRET_BYTES) throw new RangeError(`secret must be at least ${MIN_SECRET_BYTES} bytes`);
  const { iat, exp } = tokenTimes(options.now ?? Date.now(), options.ttlSeconds, options.windowSeconds);
  if (media !== '*') {
    if (!Array.isArray(media) || media.length === 0) throw new TypeError('media must be "*" or a non-empty list of media ids');
    const bad = media.find((id) => typeof id !== 'string' || !isValidMediaId(id));
    if (bad !== undefined) throw new TypeError(`media id ${JSON.stringify(bad)} is not digits only`);
  }
  if (account !== undefined && (typeof account !== 'string' || !ACCOUNT_NAME.test(account))) {
    throw new TypeError(`account ${JSON.stringify(account)} must be 1 to 32 of a-z, 0-9 and _`);
  }
  if (scope !== undefined && (typeof scope !== 'string' || !SCOPE.test(scope))) {
    throw new TypeError(`scope ${JSON.stringify(scope)} must be scope names separated by single spaces (RFC 6749 §3.3)`);
  }
  for (const [name, value] of [['issuer', issuer], ['audience', audience]] as const) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new TypeError(`${name} must be a non-empty string`);
  }
  const claims = {
    ...(issuer === undefined ? {} : { iss: issuer }),
    ...(audience === undefined ? {} : { aud: audience }),
    ...(account === undefined ? {} : { acct: account }),
    ...(scope === undefined ? {} : { scope }),
    media: media === '*' ? '*' : [...media],
    iat,
    exp,
  };
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
}
