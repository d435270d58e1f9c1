import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { MAX_TTL_SECONDS, signMediaToken, tokenTimes } from '../../src/auth/sign-media-token.js';
import { createCallerTokenVerifier, grantCovers } from '../../src/auth/verify-caller-token.js';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../support/proxy-harness.js';

const SECRET = randomBytes(32).toString('hex');
const key = new TextEncoder().encode(SECRET);

describe('signMediaToken', () => {
  it('signs an HS256 token with media, iat and exp', async () => {
    const now = Date.parse('2026-11-25T12:00:00Z');
    const token = await signMediaToken({ secret: SECRET, media: ['123', '456'], ttlSeconds: 900, now });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], currentDate: new Date(now) });
    expect(payload).toEqual({ media: ['123', '456'], iat: now / 1000, exp: now / 1000 + 900 });
  });

  it('adds iss and aud when given', async () => {
    const token = await signMediaToken({ secret: SECRET, media: '*', ttlSeconds: 60, issuer: 'https://backend.example', audience: 'media-proxy' });
    const { payload } = await jwtVerify(token, key, { issuer: 'https://backend.example', audience: 'media-proxy' });
    expect(payload.media).toBe('*');
  });

  it('makes tokens the proxy accepts, with the grant they were made for', async () => {
    const clock = new ManualClock();
    const config = loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: `${randomBytes(32).toString('hex')},${SECRET}`, JWT_ISSUER: 'be', JWT_AUDIENCE: 'mp' });
    const verify = createCallerTokenVerifier(config.auth, { fetch, clock });
    const grant = await verify(await signMediaToken({ secret: SECRET, media: ['42'], ttlSeconds: 60, issuer: 'be', audience: 'mp', now: clock.now() }));
    expect(grantCovers(grant, '42')).toBe(true);
    expect(grantCovers(grant, '43')).toBe(false);
    clock.advance(91_000); // past exp + the 30 s tolerance
    await expect(verify(await signMediaToken({ secret: SECRET, media: ['42'], ttlSeconds: 60, issuer: 'be', audience: 'mp', now: clock.now() - 91_000 }))).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it.each([
    ['a secret under 32 bytes', { secret: 'x'.repeat(31) }, /at least 32 bytes/],
    ['a zero ttl', { ttlSeconds: 0 }, /ttlSeconds/],
    ['a fractional ttl', { ttlSeconds: 1.5 }, /ttlSeconds/],
    ['a ttl over 30 days', { ttlSeconds: MAX_TTL_SECONDS + 1 }, /ttlSeconds/],
    ['an empty media list', { media: [] }, /non-empty/],
    ['a non-numeric id', { media: ['123', '12a'] }, /"12a" is not digits only/],
    ['a path as id', { media: ['../1'] }, /not digits only/],
    ['a list with *', { media: ['*'] }, /not digits only/],
    ['a zero window', { windowSeconds: 0 }, /windowSeconds must be a whole number/],
    ['a fractional window', { windowSeconds: 1.5 }, /windowSeconds must be a whole number/],
    ['a negative window', { windowSeconds: -3600 }, /windowSeconds must be a whole number/],
    ['a window past 30 days on its own', { windowSeconds: MAX_TTL_SECONDS }, /at most 2592000 \(30 days\)/],
    ['a window that with the ttl passes 30 days', { windowSeconds: MAX_TTL_SECONDS - 59 }, /windowSeconds \(2591941\) \+ ttlSeconds \(60\) must be at most 2592000/],
    ['an account with capitals', { account: 'Sales' }, /account "Sales" must be 1 to 32 of a-z, 0-9 and _/],
    ['an empty account', { account: '' }, /account "" must be/],
    ['an account of 33 characters', { account: 'a'.repeat(33) }, /must be 1 to 32/],
    ['an account with a dash', { account: 'eu-sales' }, /must be 1 to 32/],
    ['an empty scope', { scope: '' }, /scope "" must be scope names separated by single spaces/],
    ['a scope with a double space', { scope: 'media:delete  media:prefetch' }, /single spaces/],
    ['a scope with a trailing space', { scope: 'media:delete ' }, /single spaces/],
    ['a scope with a quote', { scope: 'media:"x"' }, /single spaces/],
    ['a scope with a tab', { scope: 'a\tb' }, /single spaces/],
    ['an empty issuer', { issuer: '' }, /issuer must be a non-empty string/],
    ['a time that is not a number', { now: Number.NaN }, /now must be a time/],
  ])('refuses %s', async (_what, override, message) => {
    await expect(signMediaToken({ secret: SECRET, media: ['1'], ttlSeconds: 60, ...override })).rejects.toThrow(message);
  });
});

const HOUR = 3600;
/** 2026-11-25T12:00:00Z is the start of an hour window; +1234 s lands inside it. */
const WINDOW_START_MS = Date.parse('2026-11-25T12:00:00Z');

function minted(overrides: Partial<Parameters<typeof signMediaToken>[0]> = {}): Promise<string> {
  return signMediaToken({ secret: SECRET, media: ['123'], ttlSeconds: 900, windowSeconds: HOUR, ...overrides });
}

describe('signMediaToken with a window', () => {
  it('aligns iat to the start of the window and exp to its end plus the ttl', async () => {
    const payload = decodeJwt(await minted({ now: WINDOW_START_MS + 1_234_567 }));
    expect(payload.iat).toBe(WINDOW_START_MS / 1000);
    expect(payload.exp).toBe(WINDOW_START_MS / 1000 + HOUR + 900);
  });

  it('gives the same token for the same claims at the first and the last millisecond of a window', async () => {
    const first = await minted({ now: WINDOW_START_MS, account: 'sales', issuer: 'be', audience: 'mp' });
    const last = await minted({ now: WINDOW_START_MS + HOUR * 1000 - 1, account: 'sales', issuer: 'be', audience: 'mp' });
    expect(last).toBe(first);
  });

  it('gives a different token one millisecond into the next window, and for different claims', async () => {
    const before = await minted({ now: WINDOW_START_MS + HOUR * 1000 - 1 });
    const after = await minted({ now: WINDOW_START_MS + HOUR * 1000 });
    expect(after).not.toBe(before);
    expect(decodeJwt(after).iat).toBe(decodeJwt(before).iat! + HOUR);
    expect(await minted({ now: WINDOW_START_MS, media: ['124'] })).not.toBe(await minted({ now: WINDOW_START_MS }));
    expect(await minted({ now: WINDOW_START_MS, account: 'a' })).not.toBe(await minted({ now: WINDOW_START_MS, account: 'b' }));
  });

  it('gives one token for any two instants of one window, and different tokens for instants in different windows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 7 * 86_400 }).chain((window) =>
          // The second instant is up to two windows after the first: about half the pairs share a window.
          fc.tuple(fc.constant(window), fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.integer({ min: 0, max: window * 2000 })),
        ),
        async ([window, a, delta]) => {
          const b = a + delta;
          const [ta, tb] = await Promise.all([minted({ windowSeconds: window, now: a }), minted({ windowSeconds: window, now: b })]);
          const sameWindow = Math.floor(a / 1000 / window) === Math.floor(b / 1000 / window);
          expect(ta === tb).toBe(sameWindow);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps every token valid for at least ttlSeconds and at most windowSeconds + ttlSeconds from the instant it was minted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: MAX_TTL_SECONDS - 1 }).chain((ttl) => fc.tuple(fc.constant(ttl), fc.integer({ min: 1, max: MAX_TTL_SECONDS - ttl }))),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        async ([ttl, window], now) => {
          const { iat, exp } = decodeJwt(await minted({ ttlSeconds: ttl, windowSeconds: window, now }));
          const validMs = exp! * 1000 - now;
          expect(validMs).toBeGreaterThanOrEqual(ttl * 1000);
          expect(validMs).toBeLessThanOrEqual((window + ttl) * 1000);
          expect(iat! * 1000).toBeLessThanOrEqual(now);
          expect(exp! - iat!).toBe(window + ttl);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checks the same bounds at every second of one window', () => {
    const window = 600;
    const ttl = 60;
    const start = WINDOW_START_MS / 1000;
    for (let second = start - 1; second <= start + window; second++) {
      for (const ms of [0, 1, 999]) {
        const now = second * 1000 + ms;
        const { iat, exp } = tokenTimes(now, ttl, window);
        expect(iat).toBe(second < start ? start - window : second === start + window ? start + window : start);
        expect(exp * 1000 - now).toBeGreaterThanOrEqual(ttl * 1000);
        expect(exp * 1000 - now).toBeLessThanOrEqual((window + ttl) * 1000);
      }
    }
  });

  it('accepts a window that with the ttl reaches exactly 30 days', async () => {
    const { iat, exp } = decodeJwt(await minted({ ttlSeconds: 86_400, windowSeconds: MAX_TTL_SECONDS - 86_400, now: WINDOW_START_MS }));
    expect(exp! - iat!).toBe(MAX_TTL_SECONDS);
  });

  it('emits the claims in one fixed order, whatever order the options come in', async () => {
    const token = await signMediaToken({ now: WINDOW_START_MS, scope: 'media:delete media:prefetch', audience: 'mp', windowSeconds: HOUR, account: 'sales', ttlSeconds: 60, media: ['9', '8'], issuer: 'be', secret: SECRET });
    const json = Buffer.from(token.split('.')[1]!, 'base64url').toString();
    const iat = WINDOW_START_MS / 1000;
    expect(json).toBe(`{"iss":"be","aud":"mp","acct":"sales","scope":"media:delete media:prefetch","media":["9","8"],"iat":${iat},"exp":${iat + HOUR + 60}}`);
    expect(Buffer.from(token.split('.')[0]!, 'base64url').toString()).toBe('{"alg":"HS256","typ":"JWT"}');
  });

  it('is accepted by the proxy from the start of its window to exp plus the clock tolerance, not after', async () => {
    const clock = new ManualClock(WINDOW_START_MS + 3_599_000); // last second of the window
    const config = loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE: '30' });
    const verify = createCallerTokenVerifier(config.auth, { fetch, clock });
    const token = await minted({ now: clock.now(), account: 'sales', scope: 'media:prefetch' });
    expect(decodeJwt(token).iat).toBe(WINDOW_START_MS / 1000); // an hour in the past: fine
    expect(grantCovers(await verify(token), '123')).toBe(true);
    const expMs = (WINDOW_START_MS / 1000 + HOUR + 900) * 1000;
    clock.current = expMs + 29_000;
    expect(grantCovers(await verify(token), '123')).toBe(true);
    clock.current = expMs + 30_000;
    await expect(verify(token)).rejects.toMatchObject({ code: 'unauthorized' });
  });
});
