import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { MAX_TTL_SECONDS, signMediaToken } from '../../src/auth/sign-media-token.js';
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
  ])('refuses %s', async (_what, override, message) => {
    await expect(signMediaToken({ secret: SECRET, media: ['1'], ttlSeconds: 60, ...override })).rejects.toThrow(message);
  });
});
