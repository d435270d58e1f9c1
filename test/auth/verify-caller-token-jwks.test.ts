/**
 * The caller-token verifier with JWKS_URL: keys fetched through the injected fetch from a JWKS server
 * on loopback, rotation by kid within jose's cooldown and max age, what a flood of unknown kids costs
 * the key server, and 503 auth_unavailable when it cannot answer.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Fetch } from '../../src/upstream/fetch-upstream.js';
import { claims, expectRefused, forgeHs, sign, verifierFor } from './caller-token-fixtures.js';

/** A JWKS endpoint on 127.0.0.1:0 whose key set the test can change. */
class JwksServer {
  keys: JWK[] = [];
  readonly requests: IncomingMessage[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.requests.push(req);
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function namedKey(alg: 'RS256' | 'ES256' | 'EdDSA', kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

describe('JWKS_URL', () => {
  let jwks: JwksServer;
  const fetched: string[] = [];
  const spy: Fetch = (input, init) => {
    fetched.push(String(input));
    return fetch(input, init);
  };
  beforeAll(async () => {
    jwks = await new JwksServer().start();
  });
  afterAll(() => jwks.stop());
  afterEach(() => {
    vi.useRealTimers();
    fetched.length = 0;
    jwks.requests.length = 0;
  });

  it('verifies with keys fetched through the injected fetch, and follows rotation by kid', async () => {
    // jose's key-set cooldown and max age run on Date.now(); fake only Date to move past them.
    vi.useFakeTimers({ toFake: ['Date'] });
    const a = await namedKey('RS256', 'key-2026-01');
    const b = await namedKey('ES256', 'key-2026-02');
    jwks.keys = [a.jwk];
    const { clock, verify } = verifierFor({ JWKS_URL: jwks.url }, spy);

    await expect(verify(await sign(claims(clock, { jti: '1' }), a.privateKey, { alg: a.alg, kid: a.kid }))).resolves.toBeDefined();
    expect(fetched).toEqual([jwks.url]);
    expect(jwks.requests[0]!.headers.authorization).toBeUndefined();

    // The issuer publishes the next key. Within jose's 30 s cooldown an unknown kid does not refetch.
    jwks.keys = [a.jwk, b.jwk];
    const tokenB = await sign(claims(clock, { jti: '2' }), b.privateKey, { alg: b.alg, kid: b.kid });
    await expect(verify(tokenB)).rejects.toMatchObject({ detail: 'no key matches the token' });
    expect(jwks.requests).toHaveLength(1);
    vi.setSystemTime(Date.now() + 31_000);
    await expect(verify(tokenB)).resolves.toBeDefined();
    expect(jwks.requests).toHaveLength(2);

    // The old key is retired: once the cached set is older than 10 minutes it is fetched again.
    jwks.keys = [b.jwk];
    vi.setSystemTime(Date.now() + 10 * 60_000 + 1_000);
    await expectRefused(verify, await sign(claims(clock, { jti: '3' }), a.privateKey, { alg: a.alg, kid: a.kid }));
    await expect(verify(await sign(claims(clock, { jti: '4' }), b.privateKey, { alg: b.alg, kid: b.kid }))).resolves.toBeDefined();
    expect(jwks.requests).toHaveLength(3);
  });

  it('a flood of unknown or hostile kids costs the key server at most one fetch per cooldown', async () => {
    const a = await namedKey('EdDSA', 'only');
    jwks.keys = [a.jwk];
    const { clock, verify } = verifierFor({ JWKS_URL: jwks.url }, spy);
    for (const kid of ['../../etc/passwd', "' OR 1=1 --", 'only ', 'ONLY', '', 'k'.repeat(2000), 'only\u0000']) {
      await expectRefused(verify, await sign(claims(clock), a.privateKey, { alg: a.alg, kid }));
    }
    expect(jwks.requests.length).toBeLessThanOrEqual(1);
    for (const req of jwks.requests) expect(req.url).toBe('/.well-known/jwks.json');
    await expect(verify(await sign(claims(clock), a.privateKey, { alg: a.alg, kid: 'only' }))).resolves.toBeDefined();
  });

  it('refuses a token signed by a key that is not in the set, even with a known kid', async () => {
    const a = await namedKey('RS256', 'k1');
    const impostor = await namedKey('RS256', 'k1');
    jwks.keys = [a.jwk];
    const { clock, verify } = verifierFor({ JWKS_URL: jwks.url }, spy);
    await expect(verify(await sign(claims(clock), impostor.privateKey, { alg: 'RS256', kid: 'k1' }))).rejects.toMatchObject({ detail: 'token signature invalid' });
  });

  it('answers 503 auth_unavailable, not 401, when the key server cannot be reached', async () => {
    const a = await namedKey('RS256', 'k1');
    const { clock, verify } = verifierFor({ JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json' });
    await expect(verify(await sign(claims(clock), a.privateKey, { alg: 'RS256', kid: 'k1' }))).rejects.toMatchObject({ code: 'auth_unavailable', status: 503, retryAfter: 30 });
  });

  it('answers 503 auth_unavailable when the key server answers an error', async () => {
    const a = await namedKey('RS256', 'k1');
    const failing: Fetch = async () => new Response('down', { status: 500 });
    const { clock, verify } = verifierFor({ JWKS_URL: jwks.url }, failing);
    await expect(verify(await sign(claims(clock), a.privateKey, { alg: 'RS256', kid: 'k1' }))).rejects.toMatchObject({ code: 'auth_unavailable' });
  });

  it('refuses HS tokens signed with the JWKS JSON or a key\'s modulus', async () => {
    const a = await namedKey('RS256', 'k1');
    jwks.keys = [a.jwk];
    const { clock, verify } = verifierFor({ JWKS_URL: jwks.url }, spy);
    await expectRefused(verify, forgeHs({ alg: 'HS256', kid: 'k1' }, claims(clock), JSON.stringify({ keys: jwks.keys })));
    await expectRefused(verify, forgeHs({ alg: 'HS256', kid: 'k1' }, claims(clock), Buffer.from(a.jwk.n!, 'base64url')));
    expect(jwks.requests).toHaveLength(0);
  });
});
