import { describe, expect, it } from 'vitest';
import { createSignatureVerifier } from '../../src/ingest/webhook-signature.js';
import { appSecret, fixture, signature } from '../support/webhooks.js';

const bytes = (b: Buffer) => new Uint8Array(b);

describe('webhook signature check', () => {
  const secret = appSecret();
  const body = fixture('video');

  it('accepts the HMAC-SHA256 of the raw body keyed with the app secret', async () => {
    const verify = createSignatureVerifier([secret]);
    expect(await verify(bytes(body), signature(body, secret))).toBe(true);
    // Upper-case hex is the same MAC.
    expect(await verify(bytes(body), signature(body, secret).toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
  });

  it('refuses a missing, malformed, truncated or wrong signature, and one made with another secret', async () => {
    const verify = createSignatureVerifier([secret]);
    const right = signature(body, secret);
    const flipped = right.slice(0, -1) + (right.endsWith('0') ? '1' : '0');
    for (const header of [undefined, '', 'sha256=', right.slice(0, -2), `sha1=${right.slice(7, 47)}`, right.slice(7), flipped, signature(body, appSecret())]) {
      expect(await verify(bytes(body), header)).toBe(false);
    }
  });

  it('refuses the right signature over a body changed by one byte', async () => {
    const verify = createSignatureVerifier([secret]);
    const changed = Buffer.from(body);
    changed[changed.length - 2] = changed[changed.length - 2]! ^ 0x01;
    expect(await verify(bytes(changed), signature(body, secret))).toBe(false);
  });

  it('accepts every secret of a rotation, and nothing signed with a retired one', async () => {
    const [old, current, retired] = [appSecret(), appSecret(), appSecret()];
    const verify = createSignatureVerifier([current, old]);
    expect(await verify(bytes(body), signature(body, old))).toBe(true);
    expect(await verify(bytes(body), signature(body, current))).toBe(true);
    expect(await verify(bytes(body), signature(body, retired))).toBe(false);
  });

  it('verifies a Portuguese caption with emoji over the raw UTF-8 bytes; re-serialised JSON does not verify', async () => {
    const raw = fixture('image-caption-pt');
    expect(raw.toString('utf8')).toContain('promoção de verão 🌞');
    const verify = createSignatureVerifier([secret]);
    const header = signature(raw, secret);
    expect(await verify(bytes(raw), header)).toBe(true);
    // What a handler that parsed first would have to check: neither the compact form nor the
    // \u-escaped one (whatsapp-api-js's escapeUnicode) is the signed byte sequence.
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    const compact = Buffer.from(JSON.stringify(parsed));
    const escaped = Buffer.from(JSON.stringify(parsed).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`));
    expect(await verify(bytes(compact), header)).toBe(false);
    expect(await verify(bytes(escaped), header)).toBe(false);
  });
});
