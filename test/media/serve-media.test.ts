import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { graphError, makeBytes, sha256Hex, URL_LIFETIME_MS } from '../support/fake-whatsapp.js';
import { bodyBytes, expectSameBytes } from '../support/bytes.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { eventually } from '../support/eventually.js';

const IMAGE_ID = '1234567890123456';
const image = makeBytes(5_000, 7);

describe('GET /media/:id', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  /** A proxy that keeps no file (so every request downloads), with IMAGE_ID's URL cached and then expired at the CDN. */
  async function withAnExpiredUrl(): Promise<void> {
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_BYTES: '0', CACHE_MAX_ITEM_BYTES: '0' } });
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
    expect((await h.get(`/media/${IMAGE_ID}`, { method: 'HEAD' })).status).toBe(200); // URL resolved and cached
    h.fake.advance(URL_LIFETIME_MS + 1_000);
  }

  it('serves the bytes with the Graph mime_type, Content-Length and a sha256 ETag', async () => {
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('content-length')).toBe(String(image.byteLength));
    expect(res.headers.get('etag')).toBe(`"${sha256Hex(image)}"`);
    expectSameBytes(await bodyBytes(res), image);
  });

  it('accepts the caller token from ?token= for <img src>', async () => {
    const token = await h.token({ media: [IMAGE_ID] });
    const res = await h.get(`/media/${IMAGE_ID}?token=${token}`, { token: null });
    expect(res.status).toBe(200);
    expectSameBytes(await bodyBytes(res), image);
  });

  it('sends the business token and a User-Agent naming the proxy to Graph and the CDN, never phone_number_id', async () => {
    await (await h.get(`/media/${IMAGE_ID}`)).arrayBuffer();
    const upstream = h.fake.requests.filter((r) => r.kind !== 'other');
    expect(upstream.map((r) => r.kind)).toEqual(['graph', 'cdn']);
    for (const r of upstream) {
      expect(r.headers.authorization).toBe(`Bearer ${h.fake.token}`);
      expect(r.headers['user-agent']).toBe('whatsapp-media-proxy/0.0.0-test');
    }
    expect(upstream[0]!.path).toBe(`/v25.0/${IMAGE_ID}`);
    expect(h.fake.requests.some((r) => 'phone_number_id' in r.headers)).toBe(false);
  });

  it('serves repeats from memory: one Graph lookup and one download for many requests', async () => {
    for (let i = 0; i < 3; i++) expect((await h.get(`/media/${IMAGE_ID}`)).status).toBe(200);
    expect(h.fake.count('graph', IMAGE_ID)).toBe(1);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(1);
    const caches = h.logEntries().filter((e) => e.msg === 'request').map((e) => e.cache);
    expect(caches).toEqual(['miss', 'hit:memory', 'hit:memory']);
  });

  it('with CACHE_MAX_BYTES=0 still serves verified bytes, and keeps none in memory', async () => {
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_BYTES: '0' } });
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
    for (let i = 0; i < 2; i++) expectSameBytes(await bodyBytes(await h.get(`/media/${IMAGE_ID}`)), image);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(2);
    expect(h.proxy.memory.entries).toBe(0);
  });

  it('shares the cache between callers with different tokens', async () => {
    const a = await h.token({ media: [IMAGE_ID] });
    const b = await h.token({ media: '*' });
    expect((await h.get(`/media/${IMAGE_ID}`, { token: a })).status).toBe(200);
    expect((await h.get(`/media/${IMAGE_ID}`, { token: b })).status).toBe(200);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(1);
  });

  it('coalesces concurrent requests for an uncached id into one lookup and one download', async () => {
    h.fake.setDownloadFault(IMAGE_ID, { headerDelayMs: 100 });
    const responses = await Promise.all(Array.from({ length: 8 }, () => h.get(`/media/${IMAGE_ID}`)));
    for (const res of responses) {
      expect(res.status).toBe(200);
      expectSameBytes(await bodyBytes(res), image);
    }
    expect(h.fake.count('graph', IMAGE_ID)).toBe(1);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(1);
  });

  it('streams a file above CACHE_MAX_ITEM_BYTES: the first bytes arrive while the download still runs', async () => {
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_ITEM_BYTES: String(1024 * 1024) } });
    const video = makeBytes(3_000_000, 9);
    h.fake.addMedia('98765', { bytes: video, mimeType: 'video/mp4' });
    h.fake.setDownloadFault('98765', { trickle: { chunkBytes: 64 * 1024, delayMs: 10 } });
    const res = await h.get('/media/98765');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(video.byteLength));
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(first.value!.byteLength).toBeGreaterThan(0);
    expect(h.fake.openDownloads).toBe(1);
    expect(h.fake.cdnBytesSent).toBeLessThan(video.byteLength);
    const rest: Uint8Array[] = [first.value!];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest.push(value);
    }
    expectSameBytes(Buffer.concat(rest), video);
    expect(h.proxy.memory.entries).toBe(0);
  });

  it('accepts file_size as a numeric string', async () => {
    h.fake.addMedia('555000111', { bytes: image, mimeType: 'image/png', fileSizeAsString: true });
    const res = await h.get('/media/555000111');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(image.byteLength));
  });

  it('re-resolves when the lookaside URL expired, and the caller never sees it', async () => {
    // Cache nothing in memory so the second request must download again with the cached Graph answer.
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_BYTES: '0', CACHE_MAX_ITEM_BYTES: '0' } });
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
    expect((await h.get(`/media/${IMAGE_ID}`)).status).toBe(200);
    h.fake.advance(URL_LIFETIME_MS + 1_000); // the URL Graph issued is now expired at the CDN
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(200);
    expectSameBytes(await bodyBytes(res), image);
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(3);
  });

  it('answers 502, not other bytes, when a URL refresh finds Graph naming another sha256 and file_size', async () => {
    await withAnExpiredUrl();
    // The caller is answered from the cached lookup (its length and ETag); the refresh then names a
    // different file, which cannot be sent under them.
    h.fake.addMedia(IMAGE_ID, { bytes: makeBytes(6_000, 8), mimeType: 'image/jpeg' });
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
  });

  it('refreshes an expired URL once for several callers, even when one learns of it late', async () => {
    await withAnExpiredUrl();
    // Both callers download a range of their own with the expired URL (nothing keeps this file, so no
    // shared download). The CDN holds both 404s until both requests have arrived, then answers one;
    // the other 404 comes only after that caller's refresh has finished (its download with the new
    // URL has reached the CDN), so it must reuse that refresh instead of asking Graph again.
    let answerFirst = (): void => undefined;
    let answerSecond = (): void => undefined;
    const first = new Promise<void>((resolve) => (answerFirst = resolve));
    const second = new Promise<void>((resolve) => (answerSecond = resolve));
    h.fake.scriptDownload(IMAGE_ID, { holdUntil: first }, { holdUntil: second });
    const answers = Promise.all([h.get(`/media/${IMAGE_ID}`, { headers: { range: 'bytes=0-99' } }), h.get(`/media/${IMAGE_ID}`, { headers: { range: 'bytes=100-199' } })]);
    try {
      await eventually(() => h.fake.count('cdn', IMAGE_ID) === 2, 'both callers at the CDN with the expired URL');
      answerFirst();
      await eventually(() => h.fake.count('cdn', IMAGE_ID) === 3, 'the first caller downloading with the refreshed URL');
      expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
    } finally {
      // A failed step must not leave the CDN holding an answer (and the harness's close waiting on it).
      answerFirst();
      answerSecond();
    }
    const [a, b] = await answers;
    expectSameBytes(await bodyBytes(a!), image.subarray(0, 100));
    expectSameBytes(await bodyBytes(b!), image.subarray(100, 200));
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(4);
  });

  it('re-resolves when the CDN answers an HTML page instead of media', async () => {
    h.fake.scriptDownload(IMAGE_ID, { status: 200 });
    // status 200 + HTML body from the fault: the CDN's "content isn't available" page
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
  });

  it('asks Graph again once the resolved URL is older than its cache life', async () => {
    await h.close();
    h = await startHarness({ env: { CACHE_MAX_BYTES: '0', CACHE_MAX_ITEM_BYTES: '0' } });
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
    await h.get(`/media/${IMAGE_ID}`);
    h.clock.advance(4 * 60_000 + 1);
    await h.get(`/media/${IMAGE_ID}`);
    expect(h.fake.count('graph', IMAGE_ID)).toBe(2);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(2);
  });

  it('gives up with 502 when the CDN still refuses after one refresh', async () => {
    h.fake.setDownloadFault(IMAGE_ID, { status: 403 });
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(502);
    expect((await res.json()).code).toBe('upstream_error');
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(2);
  });

  it('refuses a download URL on a host outside MEDIA_HOSTS without contacting it', async () => {
    // localhost resolves to the fake too, so a request that went out would be seen.
    h.fake.overrideUrl(IMAGE_ID, h.fake.signedUrl(IMAGE_ID).replace('127.0.0.1', 'localhost'));
    const res = await h.get(`/media/${IMAGE_ID}`);
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body.code).toBe('upstream_host_not_allowed');
    expect(JSON.stringify(body)).not.toContain('localhost');
    expect(h.fake.count('cdn')).toBe(0);
  });

  it('aborts before the last byte and keeps nothing when the bytes do not match Graph sha256', async () => {
    h.fake.scriptDownload(IMAGE_ID, { corrupt: true });
    const bad = await h.get(`/media/${IMAGE_ID}`);
    expect(bad.status).toBe(200);
    await expect(bodyBytes(bad)).rejects.toThrow();
    expect(h.proxy.memory.entries).toBe(0);
    const good = await h.get(`/media/${IMAGE_ID}`);
    expect(good.status).toBe(200);
    expectSameBytes(await bodyBytes(good), image);
    expect(h.fake.count('cdn', IMAGE_ID)).toBe(2);
  });
});

describe('caller auth and input', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  it('answers 401 without a token', async () => {
    const res = await h.get(`/media/${IMAGE_ID}`, { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await res.json()).code).toBe('unauthorized');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('answers 401 for a token signed with another secret', async () => {
    const token = await h.token({ media: '*' }, { secret: 'x'.repeat(40) });
    expect((await h.get(`/media/${IMAGE_ID}`, { token })).status).toBe(401);
  });

  it('answers 401 for an expired token', async () => {
    const token = await h.token({ media: '*' }, { ttlSeconds: 60 });
    h.clock.advance(60_000 + 31_000); // past exp and the 30 s tolerance
    expect((await h.get(`/media/${IMAGE_ID}`, { token })).status).toBe(401);
  });

  it('answers 401 for a token without exp', async () => {
    const { SignJWT } = await import('jose');
    const { TEST_SECRET } = await import('../support/proxy-harness.js');
    const token = await new SignJWT({ media: '*' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(TEST_SECRET));
    expect((await h.get(`/media/${IMAGE_ID}`, { token })).status).toBe(401);
  });

  it('answers 401 for a token that is not yet valid (nbf)', async () => {
    const token = await h.token({ media: '*', nbf: Math.floor(h.clock.now() / 1000) + 300 });
    expect((await h.get(`/media/${IMAGE_ID}`, { token })).status).toBe(401);
  });

  it('answers 403 when the media claim does not cover the id, or is missing', async () => {
    const other = await h.token({ media: ['999'] });
    expect((await h.get(`/media/${IMAGE_ID}`, { token: other })).status).toBe(403);
    const none = await h.token({});
    const res = await h.get(`/media/${IMAGE_ID}`, { token: none });
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe('forbidden');
    expect(h.fake.requests).toHaveLength(0);
  });

  it.each(['abc', '12a4', '-1', '1.5', '%31x', '12%00', '1'.repeat(33)])('answers 400 for id %s without asking Graph', async (id) => {
    const res = await h.get(`/media/${id}`);
    expect(res.status).toBe(400);
    expect((await res.json()).code).toBe('invalid_media_id');
    expect(h.fake.count('graph')).toBe(0);
  });

  it('answers /healthz without auth', async () => {
    const res = await fetch(`${h.url}/healthz`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'ok', version: '0.0.0-test', cache: { bytes: 0, entries: 0 } });
  });

  it('never logs the caller token, the business token or the CDN signature', async () => {
    const token = await h.token({ media: '*' });
    await (await h.get(`/media/${IMAGE_ID}?token=${token}`, { token: null })).arrayBuffer();
    await (await h.get(`/media/${IMAGE_ID}?token=garbage.${token}`, { token: null })).arrayBuffer();
    const all = h.logs.join('\n');
    expect(all).not.toContain(token);
    expect(all).not.toContain(h.fake.token);
    expect(all).not.toMatch(/hash=/);
    expect(all).not.toContain('?token');
    const line = h.logEntries().find((e) => e.msg === 'request' && e.status === 200)!;
    expect(line).toMatchObject({ method: 'GET', path: `/media/${IMAGE_ID}`, status: 200, bytes: image.byteLength, cache: 'miss' });
    expect(typeof line.ms).toBe('number');
  });
});

describe('Graph errors', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it('maps unknown objects (100/33) to 404 and remembers them for a while', async () => {
    const first = await h.get('/media/424242');
    expect(first.status).toBe(404);
    expect((await first.json()).code).toBe('media_not_found');
    expect((await h.get('/media/424242')).status).toBe(404);
    expect(h.fake.count('graph', '424242')).toBe(1);
    h.clock.advance(61_000);
    expect((await h.get('/media/424242')).status).toBe(404);
    expect(h.fake.count('graph', '424242')).toBe(2);
  });

  it('maps a rejected business token (190) to 502, logs loudly without the token', async () => {
    h.fake.scriptGraph('777', { status: 401, body: graphError(190) });
    const res = await h.get('/media/777');
    expect(res.status).toBe(502);
    expect((await res.json()).code).toBe('upstream_auth_failed');
    const loud = h.logEntries().find((e) => e.level === 'error');
    expect(loud?.msg).toMatch(/WHATSAPP_TOKEN/);
    expect(h.logs.join('\n')).not.toContain(h.fake.token);
  });

  it('stops asking Graph for a while after it rejected the business token, then tries again', async () => {
    h.fake.scriptGraph('*', { status: 401, body: graphError(190) });
    expect((await h.get('/media/790')).status).toBe(502);
    const again = await h.get('/media/791');
    expect(again.status).toBe(502);
    expect((await again.json()).code).toBe('upstream_auth_failed');
    expect(h.fake.count('graph')).toBe(1);
    expect(h.logEntries().filter((e) => e.level === 'error')).toHaveLength(1);
    h.clock.advance(10_001);
    expect((await h.get('/media/792')).status).toBe(404); // the token works again: Graph is asked
    expect(h.fake.count('graph')).toBe(2);
  });

  it('maps permission errors (10, 200-299) to 502', async () => {
    h.fake.scriptGraph('778', { status: 403, body: graphError(200) });
    expect((await h.get('/media/778')).status).toBe(502);
  });

  it.each([4, 80007, 130429, 613])('maps rate limit code %i to 503 with Retry-After and fails fast until it passes', async (code) => {
    h.fake.scriptGraph('779', { status: 400, body: graphError(code), headers: { 'retry-after': '30' } });
    const res = await h.get('/media/779');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect((await res.json()).code).toBe('upstream_rate_limited');
    const again = await h.get('/media/780');
    expect(again.status).toBe(503);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(h.fake.count('graph')).toBe(1);
    h.clock.advance(31_000);
    expect((await h.get('/media/780')).status).toBe(404);
  });

  it('retries transient failures with growing backoff, then succeeds', async () => {
    h.fake.addMedia('781', { bytes: image, mimeType: 'image/jpeg' });
    h.fake.scriptGraph('781', { status: 500, body: graphError(2, { is_transient: true }) }, { status: 503, body: 'oops' });
    const res = await h.get('/media/781');
    expect(res.status).toBe(200);
    expect(h.fake.count('graph', '781')).toBe(3);
    expect(h.clock.sleeps).toHaveLength(2);
  });

  it('gives up after the bounded retries with 503', async () => {
    h.fake.scriptGraph('782', ...Array.from({ length: 5 }, () => ({ status: 500, body: graphError(1, { is_transient: true }) })));
    const res = await h.get('/media/782');
    expect(res.status).toBe(503);
    expect((await res.json()).code).toBe('upstream_unavailable');
    expect(h.fake.count('graph', '782')).toBe(3); // 1 + GRAPH_MAX_RETRIES (2)
  });

  it('answers 504 when Graph does not answer in time', async () => {
    h.fake.scriptGraph('783', { status: 200, body: {}, delayMs: 2_500 });
    const res = await h.get('/media/783');
    expect(res.status).toBe(504);
    expect((await res.json()).code).toBe('upstream_timeout');
  });

  it('answers 504 when Graph sends headers and then stalls the body', async () => {
    h.fake.scriptGraph('785', { status: 200, body: null, stallBody: true });
    const res = await h.get('/media/785');
    expect(res.status).toBe(504);
    expect((await res.json()).code).toBe('upstream_timeout');
  });

  it('answers 502 for an empty file whose sha256 is not that of nothing, and serves one whose sha256 is', async () => {
    h.fake.scriptGraph('786', { status: 200, body: { url: h.fake.signedUrl('786'), mime_type: 'image/jpeg', sha256: sha256Hex(image), file_size: 0 } });
    const wrong = await h.get('/media/786');
    expect(wrong.status).toBe(502);
    expect((await wrong.json()).code).toBe('upstream_invalid_response');
    expect(h.fake.count('cdn', '786')).toBe(0);
    h.fake.addMedia('787', { bytes: new Uint8Array(0), mimeType: 'image/jpeg' });
    const empty = await h.get('/media/787');
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-length')).toBe('0');
    expect((await bodyBytes(empty)).byteLength).toBe(0);
  });

  it('answers 502 for a Graph answer without a valid sha256', async () => {
    h.fake.scriptGraph('784', { status: 200, body: { url: h.fake.signedUrl('784'), mime_type: 'image/jpeg', sha256: 'nope', file_size: 3 } });
    const res = await h.get('/media/784');
    expect(res.status).toBe(502);
    expect((await res.json()).code).toBe('upstream_invalid_response');
  });
});
