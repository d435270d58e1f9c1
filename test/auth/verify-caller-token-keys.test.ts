/**
 * The caller-token verifier's own keys: several JWT_SECRET values for rotation, and JWT_PUBLIC_KEY
 * (RS256, ES256, EdDSA), with no confusion between HMAC secrets and public keys and no key taken from
 * the token's own header.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { grantCovers } from '../../src/auth/verify-caller-token.js';
import { loadConfig } from '../../src/config.js';
import type { Fetch } from '../../src/upstream/fetch-upstream.js';
import { claims, expectRefused, forgeHs, nowSeconds, OTHER_SECRET, SECRET, sign, verifierFor } from './caller-token-fixtures.js';

describe('several JWT_SECRET values (rotation)', () => {
  const THIRD = randomBytes(32).toString('hex');
  const { clock, verify } = verifierFor({ JWT_SECRET: ` ${SECRET} , ${OTHER_SECRET},${THIRD} ` });

  it('accepts a token signed with any of them', async () => {
    for (const secret of [SECRET, OTHER_SECRET, THIRD]) {
      await expect(verify(forgeHs({ alg: 'HS256' }, claims(clock, { jti: secret.slice(0, 4) }), secret))).resolves.toBeDefined();
    }
  });

  it('refuses one signed with none of them, and reports expiry rather than the signature for an expired token', async () => {
    await expectRefused(verify, forgeHs({ alg: 'HS256' }, claims(clock), randomBytes(32).toString('hex')));
    const expired = forgeHs({ alg: 'HS256' }, claims(clock, { exp: nowSeconds(clock) - 100 }), THIRD);
    await expect(verify(expired)).rejects.toMatchObject({ detail: 'token expired' });
  });

  it('refuses a secret under 32 bytes at start', () => {
    expect(() => loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: `${SECRET},short` })).toThrow(/JWT_SECRET: each secret must be at least 32 bytes/);
  });
});

describe('JWT_PUBLIC_KEY', () => {
  it.each(['RS256', 'ES256', 'EdDSA'] as const)('accepts %s tokens signed with the matching private key, refuses other keys', async (alg) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const stranger = await generateKeyPair(alg);
    const pem = await exportSPKI(publicKey);
    // Env files often hold a PEM on one line with literal \n: both forms work.
    for (const JWT_PUBLIC_KEY of [pem, pem.replace(/\n/g, '\\n')]) {
      const { clock, verify } = verifierFor({ JWT_PUBLIC_KEY });
      const grant = await verify(await sign(claims(clock, { media: ['42'] }), privateKey, { alg }));
      expect(grantCovers(grant, '42')).toBe(true);
      await expectRefused(verify, await sign(claims(clock), stranger.privateKey, { alg }));
      // Without JWT_SECRET, HS tokens are refused outright.
      await expectRefused(verify, forgeHs({ alg: 'HS256' }, claims(clock), SECRET));
    }
  });

  it('refuses a token whose alg does not fit the configured key (RSA key, ES256 token)', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const ec = await generateKeyPair('ES256');
    const { clock, verify } = verifierFor({ JWT_PUBLIC_KEY: await exportSPKI(rsa.publicKey) });
    await expectRefused(verify, await sign(claims(clock), ec.privateKey, { alg: 'ES256' }));
  });

  it('refuses algorithms not in JWT_ALGORITHMS (PS256 with an RSA key when only RS256 is allowed)', async () => {
    const rsa = await generateKeyPair('PS256', { extractable: true });
    const { clock, verify } = verifierFor({ JWT_PUBLIC_KEY: await exportSPKI(rsa.publicKey), JWT_ALGORITHMS: 'RS256' });
    await expectRefused(verify, await sign(claims(clock), rsa.privateKey, { alg: 'PS256' }));
  });

  describe('HS/RS algorithm confusion', () => {
    let pem: string;
    let rsaPrivate: CryptoKey;
    beforeAll(async () => {
      const pair = await generateKeyPair('RS256', { extractable: true });
      pem = await exportSPKI(pair.publicKey);
      rsaPrivate = pair.privateKey;
    });

    it('refuses an HS256 token signed with the PEM public key text as the secret', async () => {
      const { clock, verify } = verifierFor({ JWT_PUBLIC_KEY: pem });
      for (const secret of [pem, pem.trim(), `${pem.trim()}\n`, pem.replace(/\n/g, '\\n')]) {
        await expectRefused(verify, forgeHs({ alg: 'HS256' }, claims(clock), secret));
      }
    });

    it('still refuses it when HS256 is allowed too (secrets and keys are never mixed)', async () => {
      const { clock, verify } = verifierFor({ JWT_PUBLIC_KEY: pem, JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS256,RS256' });
      for (const secret of [pem, pem.trim(), `${pem.trim()}\n`]) {
        await expectRefused(verify, forgeHs({ alg: 'HS256' }, claims(clock), secret));
      }
      // Both legitimate kinds still work side by side.
      await expect(verify(forgeHs({ alg: 'HS256' }, claims(clock), SECRET))).resolves.toBeDefined();
      await expect(verify(await sign(claims(clock), rsaPrivate, { alg: 'RS256' }))).resolves.toBeDefined();
    });

    it('refuses an RS256 header over an HMAC signature', async () => {
      const { clock, verify } = verifierFor({ JWT_PUBLIC_KEY: pem, JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS256,RS256' });
      await expectRefused(verify, forgeHs({ alg: 'RS256' }, claims(clock), SECRET));
      await expectRefused(verify, forgeHs({ alg: 'RS256' }, claims(clock), pem));
    });

    it('ignores an embedded jwk, jku or x5u header (the attacker\'s own key or key URL)', async () => {
      const attacker = await generateKeyPair('RS256', { extractable: true });
      const attackerJwk = await exportJWK(attacker.publicKey);
      const seen: string[] = [];
      const spy: Fetch = (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      };
      const { clock, verify } = verifierFor({ JWT_PUBLIC_KEY: pem }, spy);
      const headers = [
        { alg: 'RS256', jwk: attackerJwk },
        { alg: 'RS256', jku: 'http://127.0.0.1:1/jwks.json' },
        { alg: 'RS256', x5u: 'http://127.0.0.1:1/cert.pem' },
      ];
      for (const header of headers) {
        await expectRefused(verify, await new SignJWT(claims(clock)).setProtectedHeader(header).sign(attacker.privateKey));
      }
      expect(seen).toEqual([]);
    });
  });
});
