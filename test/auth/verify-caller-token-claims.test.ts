/**
 * What the caller-token verifier reads from a validly signed token: exp and nbf with the clock
 * tolerance, iss and aud when configured, the media, scope and acct claims; and which auth settings
 * it refuses at start.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { grantCovers } from '../../src/auth/verify-caller-token.js';
import { loadConfig } from '../../src/config.js';
import { b64url, claims, expectRefused, forgeHs, nowSeconds, SECRET, verifierFor } from './caller-token-fixtures.js';

describe('claims', () => {
  it('requires exp', async () => {
    const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });
    const { exp: _exp, ...rest } = claims(clock);
    await expectRefused(verify, forgeHs({ alg: 'HS256' }, rest, SECRET));
    await expectRefused(verify, forgeHs({ alg: 'HS256' }, { ...rest, exp: String(nowSeconds(clock) + 600) }, SECRET));
  });

  it('refuses an exp that JSON can only read as infinite', async () => {
    const { verify } = verifierFor({ JWT_SECRET: SECRET });
    // 1e400 is valid JSON and parses to Infinity: a token that would never expire, nor leave the cache's bounds.
    const input = `${b64url({ alg: 'HS256' })}.${b64url('{"media":"*","exp":1e400}')}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    await expect(verify(token)).rejects.toMatchObject({ code: 'unauthorized', detail: 'token claim "exp" is not acceptable' });
  });

  it('honours exp with the default 30 s JWT_CLOCK_TOLERANCE', async () => {
    const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });
    const expired20s = forgeHs({ alg: 'HS256' }, claims(clock, { exp: nowSeconds(clock) - 20 }), SECRET);
    const expired31s = forgeHs({ alg: 'HS256' }, claims(clock, { exp: nowSeconds(clock) - 31 }), SECRET);
    await expect(verify(expired20s)).resolves.toBeDefined();
    await expect(verify(expired31s)).rejects.toMatchObject({ code: 'unauthorized', detail: 'token expired' });
  });

  it('honours JWT_CLOCK_TOLERANCE for exp and nbf, also for a token it has already verified', async () => {
    const { clock, verify } = verifierFor({ JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE: '0' });
    const token = forgeHs({ alg: 'HS256' }, claims(clock, { exp: nowSeconds(clock) + 10 }), SECRET);
    await expect(verify(token)).resolves.toBeDefined();
    clock.advance(10_000);
    await expectRefused(verify, token);
    const lateNbf = forgeHs({ alg: 'HS256' }, claims(clock, { nbf: nowSeconds(clock) + 1 }), SECRET);
    await expect(verify(lateNbf)).rejects.toMatchObject({ detail: 'token claim "nbf" is not acceptable' });
    clock.advance(1_000);
    await expect(verify(lateNbf)).resolves.toBeDefined();
  });

  it('honours nbf within and beyond the default tolerance', async () => {
    const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });
    await expect(verify(forgeHs({ alg: 'HS256' }, claims(clock, { nbf: nowSeconds(clock) + 25 }), SECRET))).resolves.toBeDefined();
    await expectRefused(verify, forgeHs({ alg: 'HS256' }, claims(clock, { nbf: nowSeconds(clock) + 35 }), SECRET));
  });

  it('requires JWT_ISSUER and JWT_AUDIENCE when configured, and ignores them otherwise', async () => {
    const strict = verifierFor({ JWT_SECRET: SECRET, JWT_ISSUER: 'https://backend.example', JWT_AUDIENCE: 'media-proxy' });
    const token = (extra: Record<string, unknown>) => forgeHs({ alg: 'HS256' }, claims(strict.clock, extra), SECRET);
    await expect(strict.verify(token({ iss: 'https://backend.example', aud: 'media-proxy' }))).resolves.toBeDefined();
    await expect(strict.verify(token({ iss: 'https://backend.example', aud: ['other', 'media-proxy'] }))).resolves.toBeDefined();
    await expect(strict.verify(token({ aud: 'media-proxy' }))).rejects.toMatchObject({ detail: 'token claim "iss" is not acceptable' });
    await expectRefused(strict.verify, token({ iss: 'https://evil.example', aud: 'media-proxy' }));
    await expectRefused(strict.verify, token({ iss: 'https://backend.example' }));
    await expectRefused(strict.verify, token({ iss: 'https://backend.example', aud: 'media-proxy-2' }));
    await expectRefused(strict.verify, token({ iss: ['https://backend.example'], aud: 'media-proxy' }));

    const lax = verifierFor({ JWT_SECRET: SECRET });
    await expect(lax.verify(forgeHs({ alg: 'HS256' }, claims(lax.clock, { iss: 'anyone', aud: 'anything' }), SECRET))).resolves.toBeDefined();
  });

  it('reads the media claim as "*" or a list of id strings, and nothing else', async () => {
    const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });
    const grant = async (media: unknown) => verify(forgeHs({ alg: 'HS256' }, claims(clock, { media }), SECRET));
    expect(grantCovers(await grant(['1', 2, null, '3']), '1')).toBe(true);
    expect(grantCovers(await grant(['1', 2, null, '3']), '2')).toBe(false);
    for (const media of ['123', ['*'], { '123': true }, true, 1, undefined, '**']) {
      expect(grantCovers(await grant(media), '123'), JSON.stringify(media)).toBe(false);
    }
  });

  it('reads the space-separated scope claim as a set, and nothing else as a scope', async () => {
    const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });
    const scopeOf = async (scope: unknown) => [...(await verify(forgeHs({ alg: 'HS256' }, claims(clock, { scope }), SECRET))).scope];
    expect(await scopeOf('media:read  media:prefetch')).toEqual(['media:read', 'media:prefetch']);
    for (const scope of [undefined, '', ['media:prefetch'], { 'media:prefetch': true }, 1]) expect(await scopeOf(scope), JSON.stringify(scope)).toEqual([]);
  });

  it('reads the acct claim as the account, `default` without one, and refuses a malformed one', async () => {
    const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });
    const token = (acct: unknown) => forgeHs({ alg: 'HS256' }, claims(clock, acct === undefined ? {} : { acct }), SECRET);
    expect((await verify(token(undefined))).account).toBe('default');
    expect((await verify(token('acme_2'))).account).toBe('acme_2');
    for (const acct of ['', 'Acme', 'a'.repeat(33), 'acme-x', 7, null, ['acme']]) await expectRefused(verify, token(acct));
  });
});

describe('auth configuration', () => {
  it('needs at least one of JWT_SECRET, JWT_PUBLIC_KEY, JWKS_URL', () => {
    expect(() => loadConfig({ WHATSAPP_TOKEN: 't' })).toThrow(/JWT_SECRET: is required \(or set JWT_PUBLIC_KEY or JWKS_URL\)/);
  });

  it('refuses an algorithm that has no key of its family, instead of refusing every token later', () => {
    expect(() => loadConfig({ WHATSAPP_TOKEN: 't', JWKS_URL: 'https://issuer.example/jwks.json', JWT_ALGORITHMS: 'HS256' })).toThrow(/JWT_ALGORITHMS: HS256 needs JWT_SECRET/);
    expect(() => loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS256,RS256' })).toThrow(/JWT_ALGORITHMS: RS256 needs JWT_PUBLIC_KEY or JWKS_URL/);
    expect(() => loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: SECRET, JWT_ALGORITHMS: 'none' })).toThrow(/unsupported algorithm "none"/);
  });

  it('defaults to HS256 for secrets and RS256, ES256, EdDSA for keys', () => {
    expect(loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: SECRET }).auth.algorithms).toEqual(['HS256']);
    expect(loadConfig({ WHATSAPP_TOKEN: 't', JWKS_URL: 'https://issuer.example/jwks.json' }).auth.algorithms).toEqual(['RS256', 'ES256', 'EdDSA']);
  });

  it('refuses a JWT_CLOCK_TOLERANCE that is not whole seconds', () => {
    for (const value of ['-1', '1.5', '30s', '3601']) {
      expect(() => loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE: value }), value).toThrow(/JWT_CLOCK_TOLERANCE/);
    }
  });
});
