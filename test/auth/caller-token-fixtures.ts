/**
 * What the caller-token verifier tests share: two random secrets, a verifier on a manual clock built
 * from env settings, honest and forged tokens, and the one way a refusal must look.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { createCallerTokenVerifier, type VerifyCallerToken } from '../../src/auth/verify-caller-token.js';
import { loadConfig } from '../../src/config.js';
import type { Fetch } from '../../src/upstream/fetch-upstream.js';
import { ManualClock } from '../support/proxy-harness.js';

export const SECRET = randomBytes(32).toString('hex');
export const OTHER_SECRET = randomBytes(32).toString('hex');
export const encode = (s: string) => new TextEncoder().encode(s);
export const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export function verifierFor(env: Record<string, string>, fetch: Fetch = globalThis.fetch) {
  const clock = new ManualClock();
  const config = loadConfig({ WHATSAPP_TOKEN: 'business-token', ...env });
  return { clock, verify: createCallerTokenVerifier(config.auth, { fetch, clock }) };
}

export const nowSeconds = (clock: ManualClock) => Math.floor(clock.now() / 1000);

/** A JWT signed however the test likes: the header and payload are whatever the attacker chose. */
export function forgeHs(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Uint8Array, hash = 'sha256'): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

export function claims(clock: ManualClock, extra: Record<string, unknown> = {}): JWTPayload {
  return { media: '*', iat: nowSeconds(clock), exp: nowSeconds(clock) + 600, ...extra };
}

export async function sign(payload: JWTPayload, key: CryptoKey | Uint8Array, header: { alg: string; kid?: string }): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

export async function expectRefused(verify: VerifyCallerToken, token: string): Promise<void> {
  await expect(verify(token)).rejects.toMatchObject({ name: 'ProxyError', code: 'unauthorized', status: 401 });
}
