import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaUrl, type MediaUrlOptions } from '../../src/auth/media-url.js';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, TEST_SECRET, type Harness } from '../support/proxy-harness.js';

const PHOTO = '1234567890123456';
const OTHER = '6543210987654321';
const HOUR = 3600;
const WINDOW_START_MS = Date.parse('2026-11-25T12:00:00Z');

function link(overrides: Partial<MediaUrlOptions> = {}): Promise<string> {
  return mediaUrl({ baseUrl: 'https://proxy.example', secret: TEST_SECRET, id: PHOTO, ttlSeconds: 900, windowSeconds: HOUR, now: WINDOW_START_MS, ...overrides });
}

describe('mediaUrl', () => {
  it('builds <baseUrl>/media/<id>?token=<jwt> with a token for that id alone', async () => {
    const url = await link({ account: 'sales' });
    const match = /^https:\/\/proxy\.example\/media\/1234567890123456\?token=([\w-]+\.[\w-]+\.[\w-]+)$/.exec(url);
    expect(match).not.toBeNull();
    expect(decodeJwt(match![1]!)).toEqual({ acct: 'sales', media: [PHOTO], iat: WINDOW_START_MS / 1000, exp: WINDOW_START_MS / 1000 + HOUR + 900 });
  });

  it('gives the same link all through one window and a new one in the next', async () => {
    const first = await link({ now: WINDOW_START_MS + 1 });
    expect(await link({ now: WINDOW_START_MS + HOUR * 1000 - 1 })).toBe(first);
    expect(await link({ now: WINDOW_START_MS + HOUR * 1000 })).not.toBe(first);
  });

  it('tolerates a trailing slash and keeps a path prefix, giving the same link either way', async () => {
    expect(await link({ baseUrl: 'https://proxy.example/' })).toBe(await link());
    const prefixed = await link({ baseUrl: 'https://example.com/wa-media/' });
    expect(prefixed.startsWith('https://example.com/wa-media/media/1234567890123456?token=')).toBe(true);
    expect(await link({ baseUrl: 'https://example.com/wa-media' })).toBe(prefixed);
    expect(await link({ baseUrl: 'HTTPS://Proxy.Example:443' })).toBe(await link());
  });

  it('asks for an attachment with download: true', async () => {
    expect(await link({ download: true })).toMatch(/\?token=[\w.-]+&download=1$/);
    expect(await link({ download: false })).toBe(await link());
  });

  it.each([
    ['a relative base URL', { baseUrl: '/media-proxy' }, /baseUrl "\/media-proxy" is not an absolute URL/],
    ['a non-http base URL', { baseUrl: 'ftp://proxy.example' }, /baseUrl must be http or https, not ftp:/],
    ['a base URL with a query', { baseUrl: 'https://proxy.example/?x=1' }, /no query or fragment/],
    ['a base URL with an empty query', { baseUrl: 'https://proxy.example/?' }, /no query or fragment/],
    ['a base URL with a fragment', { baseUrl: 'https://proxy.example/#top' }, /no query or fragment/],
    ['a base URL with credentials', { baseUrl: 'https://user:pw@proxy.example' }, /must not carry credentials/],
    ['an id that is not digits', { id: '../healthz' }, /"..\/healthz" is not digits only/],
    ['an empty id', { id: '' }, /"" is not digits only/],
    ['a window too long for the ttl', { windowSeconds: 30 * 86_400 }, /at most 2592000 \(30 days\)/],
    ['a bad account', { account: 'Sales Team' }, /account "Sales Team" must be/],
  ])('refuses %s', async (_what, override, message) => {
    await expect(link(override)).rejects.toThrow(message);
  });
});

describe('a mediaUrl link against the real proxy', () => {
  let h: Harness;
  const bytes = makeBytes(20_000, 7);
  beforeAll(async () => {
    h = await startHarness();
    h.fake.addMedia(PHOTO, { bytes, mimeType: 'image/jpeg' });
    h.fake.addMedia(OTHER, { bytes: makeBytes(100, 8), mimeType: 'image/png' });
  });
  afterAll(() => h.close());

  it('serves the photo to a plain GET of the link, no Authorization header, with immutable caching', async () => {
    const url = await mediaUrl({ baseUrl: `${h.url}/`, secret: TEST_SECRET, id: PHOTO, ttlSeconds: 600, windowSeconds: HOUR, now: h.clock.now() });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toMatch(/\bimmutable\b/);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    expect(h.fake.count('cdn', PHOTO)).toBe(1); // fetched from Meta's (fake) CDN, not made up
  });

  it('serves an attachment for a download link', async () => {
    const res = await fetch(await mediaUrl({ baseUrl: h.url, secret: TEST_SECRET, id: PHOTO, ttlSeconds: 600, windowSeconds: HOUR, download: true, now: h.clock.now() }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${PHOTO}.jpg"`);
    await res.arrayBuffer();
  });

  it('does not open another id with the token of a link (403), and stops working after exp plus the tolerance (401)', async () => {
    const url = await mediaUrl({ baseUrl: h.url, secret: TEST_SECRET, id: PHOTO, ttlSeconds: 60, windowSeconds: 120, now: h.clock.now() });
    const token = new URL(url).searchParams.get('token')!;
    const other = await fetch(`${h.url}/media/${OTHER}?token=${token}`);
    expect(other.status).toBe(403);
    await other.arrayBuffer();
    const exp = decodeJwt(token).exp! * 1000;
    const started = h.clock.now();
    try {
      h.clock.current = exp + (h.config.auth.clockToleranceSeconds - 1) * 1000;
      const late = await fetch(url);
      expect(late.status).toBe(200);
      await late.arrayBuffer();
      h.clock.current = exp + h.config.auth.clockToleranceSeconds * 1000;
      const expired = await fetch(url);
      expect(expired.status).toBe(401);
      await expired.arrayBuffer();
    } finally {
      h.clock.current = started;
    }
  });
});
