import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCallerTokenVerifier, grantCovers, type VerifyCallerToken } from '../../src/auth/verify-caller-token.js';
import { loadConfig } from '../../src/config.js';
import type { Fetch } from '../../src/upstream/fetch-upstream.js';
import { ManualClock } from '../support/proxy-harness.js';

const SECRET = randomBytes(32).toString('hex');
const OTHER_SECRET = randomBytes(32).toString('hex');
const encode = (s: string) => new TextEncoder().encode(s);
const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function verifierFor(env: Record<string, string>, fetch: Fetch = globalThis.fetch) {
  const clock = new ManualClock();
  const config = loadConfig({ WHATSAPP_TOKEN: 'business-token', ...env });
  return { clock, verify: createCallerTokenVerifier(config.auth, { fetch, clock }) };
}

const nowSeconds = (clock: ManualClock) => Math.floor(clock.now() / 1000);

/** A JWT signed however the test likes: the header and payload are whatever the attacker chose. */
function forgeHs(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Uint8Array, hash = 'sha256'): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

function claims(clock: ManualClock, extra: Record<string, unknown> = {}): JWTPayload {
  return { media: '*', iat: nowSeconds(clock), exp: nowSeconds(clock) + 600, ...extra };
}

async function sign(payload: JWTPayload, key: CryptoKey | Uint8Array, header: { alg: string; kid?: string }): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

async function expectRefused(verify: VerifyCallerToken, token: string): Promise<void> {
  await expect(verify(token)).rejects.toMatchObject({ name: 'ProxyError', code: 'unauthorized', status: 401 });
}

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

describe('claims', () => {
  it('requires exp', async () => {
    const { clock, verify } = verifierFor({ JWT_SECRET: SECRET });
    const { exp: _exp, ...rest } = claims(clock);
    await expectRefused(verify, forgeHs({ alg: 'HS256' }, rest, SECRET));
    await expectRefused(verify, forgeHs({ alg: 'HS256' }, { ...rest, exp: String(nowSeconds(clock) + 600) }, SECRET));
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
