/**
 * Which tokens the caller-token verifier takes as signed: the configured algorithm only (no `none`,
 * no forged or swapped alg, no tampering, no unknown crit), kid values that select nothing for secrets,
 * and malformed tokens that are a 401, never a crash.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { grantCovers } from '../../src/auth/verify-caller-token.js';
import { b64url, claims, encode, expectRefused, forgeHs, OTHER_SECRET, SECRET, sign, verifierFor } from './caller-token-fixtures.js';

describe('algorithms', () => {
  const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });

  it('accepts HS256 signed with the secret', async () => {
    const grant = await verify(await sign(claims(clock, { media: ['123'] }), encode(SECRET), { alg: 'HS256' }));
    expect(grantCovers(grant, '123')).toBe(true);
    expect(grantCovers(grant, '456')).toBe(false);
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s, with or without a signature', async (alg) => {
    const unsigned = `${b64url({ alg, typ: 'JWT' })}.${b64url(claims(clock))}.`;
    await expectRefused(verify, unsigned);
    await expectRefused(verify, `${unsigned}${createHmac('sha256', SECRET).update(unsigned.slice(0, -1)).digest('base64url')}`);
  });

  it.each([
    ['HS384', 'sha384'],
    ['HS512', 'sha512'],
  ])('refuses %s when only HS256 is configured, even signed with the right secret', async (alg, hash) => {
    await expectRefused(verify, forgeHs({ alg }, claims(clock), SECRET, hash));
  });

  it('refuses a forged alg: an HS256 signature under a header that claims another algorithm', async () => {
    for (const alg of ['HS512', 'RS256', 'ES256', 'EdDSA', 'hs256', 'HS256 ', '']) {
      await expectRefused(verify, forgeHs({ alg }, claims(clock), SECRET));
    }
    await expectRefused(verify, forgeHs({}, claims(clock), SECRET));
  });

  it('refuses a tampered header or payload (the signature covers both)', async () => {
    const token = await sign(claims(clock, { media: ['123'] }), encode(SECRET), { alg: 'HS256' });
    const [, payload, signature] = token.split('.');
    await expectRefused(verify, `${b64url({ alg: 'HS256', typ: 'JWT' })}.${payload}.${signature}`);
    await expectRefused(verify, `${b64url({ alg: 'HS256', kid: 'x' })}.${payload}.${signature}`);
    const [header] = token.split('.');
    await expectRefused(verify, `${header}.${b64url(claims(clock, { media: '*' }))}.${signature}`);
    await expectRefused(verify, `${header}.${payload}.${signature!.slice(0, -2)}AA`);
  });

  it('refuses a critical header extension it does not understand', async () => {
    await expectRefused(verify, forgeHs({ alg: 'HS256', crit: ['exp'], exp: 1 }, claims(clock), SECRET));
    await expectRefused(verify, forgeHs({ alg: 'HS256', crit: ['x-evil'], 'x-evil': true }, claims(clock), SECRET));
  });

  it('refuses RS/ES/EdDSA tokens when only a secret is configured', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    await expectRefused(verify, await sign(claims(clock), privateKey, { alg: 'RS256' }));
  });
});

describe('kid injection', () => {
  const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });
  const hostileKids = ['../../../../etc/passwd', "' OR '1'='1", '"; DROP TABLE keys; --', '{"$ne":null}', '\u0000', 'a\r\nx-injected: 1', 'k'.repeat(4000), '*', '%2e%2e%2f'];

  it.each(hostileKids)('kid %j neither breaks nor bypasses HS verification', async (kid) => {
    // kid selects nothing for secrets: a right signature is accepted, a wrong one refused.
    expect((await verify(forgeHs({ alg: 'HS256', kid }, claims(clock), SECRET))).media).toBe('*');
    await expectRefused(verify, forgeHs({ alg: 'HS256', kid }, claims(clock), OTHER_SECRET));
  });

  it('a non-string kid is refused (RFC 7515 §4.1.4), even with a right signature', async () => {
    for (const kid of [1, null, { path: '/etc/passwd' }, ['a']]) {
      await expect(verify(forgeHs({ alg: 'HS256', kid }, claims(clock), SECRET))).rejects.toMatchObject({ code: 'unauthorized' });
    }
  });
});

describe('malformed tokens', () => {
  const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });

  it.each([
    ['empty', ''],
    ['one segment', 'abc'],
    ['two segments', 'abc.def'],
    ['four segments', 'a.b.c.d'],
    ['JWE-shaped', 'a.b.c.d.e'],
    ['not base64url', '!!!.@@@.###'],
    ['header not JSON', `${b64url('not json')}.${b64url({})}.sig`],
    ['payload an array', `${b64url({ alg: 'HS256' })}.${b64url([1, 2])}.sig`],
    ['over 8 KB', `${b64url({ alg: 'HS256' })}.${'a'.repeat(9000)}.sig`],
  ])('%s is a 401, not a crash', async (_what, token) => {
    await expectRefused(verify, token);
  });

  it('over 8 KB is refused before any crypto even with a valid signature', async () => {
    await expectRefused(verify, forgeHs({ alg: 'HS256' }, claims(clock, { pad: 'x'.repeat(9000) }), SECRET));
  });

  it('any string is either a grant or a 401 (fast-check)', async () => {
    const valid = forgeHs({ alg: 'HS256' }, claims(clock), SECRET);
    const mutated = fc.tuple(fc.nat({ max: valid.length - 1 }), fc.string({ minLength: 1, maxLength: 3 })).map(([at, text]) => valid.slice(0, at) + text + valid.slice(at + 1));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), mutated), async (token) => {
        try {
          await verify(token);
          // Only the signed text itself can pass. The HMAC covers header.payload as sent; the
          // signature segment is base64url-decoded leniently, so it only has to decode the same.
          const [header, payload, signature = ''] = token.split('.');
          const [validHeader, validPayload, validSignature = ''] = valid.split('.');
          expect(`${header}.${payload}`).toBe(`${validHeader}.${validPayload}`);
          expect(Buffer.from(signature, 'base64url')).toEqual(Buffer.from(validSignature, 'base64url'));
        } catch (error) {
          expect(error).toMatchObject({ code: 'unauthorized' });
        }
      }),
      { numRuns: 500 },
    );
  });
});
