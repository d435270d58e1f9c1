/**
 * The deployed entrypoint (src/worker.ts, `exports.default`) inside workerd, configured by the same
 * variables as on Node (vitest.config.ts bindings), against the fake Graph + CDN on loopback.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { VERSION } from '../../src/version.js';
import { callerToken, fakeUpstream, sha256Hex } from './fake-upstream.js';
import { deployedWorker, freshIsolate, get as getVia, problemCode, type GetOptions } from './proxy-client.js';

const get = (path: string, options?: GetOptions) => getVia(deployedWorker, path, options);

/** The request log lines the Worker wrote (it shares the test isolate's console). */
function captureRequestLog() {
  const spy = vi.spyOn(console, 'log');
  return () =>
    spy.mock.calls
      .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
      .filter((entry) => entry.msg === 'request');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('caller auth', () => {
  it('answers 401 problem+json without a token, and with an expired or wrongly signed one', async () => {
    await fakeUpstream.addMedia({ id: '710000001', size: 1_000, seed: 1, mimeType: 'image/jpeg' });
    const expired = await callerToken({ media: '*' }, { ttlSeconds: -120 });
    const forged = await callerToken({ media: '*' }, { secret: 'x'.repeat(32) });
    for (const token of [null, expired, forged]) {
      const res = await get('/media/710000001', { token });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await problemCode(res)).toBe('unauthorized');
    }
    expect(await fakeUpstream.count('graph', '710000001')).toBe(0);
  });

  it('answers 403 when the token does not cover the id, and asks Graph nothing', async () => {
    const res = await get('/media/710000002', { token: await callerToken({ media: ['710000003'] }) });
    expect(res.status).toBe(403);
    expect(await problemCode(res)).toBe('forbidden');
    expect(await fakeUpstream.count('graph', '710000002')).toBe(0);
  });

  it('accepts ?token= for <img src>', async () => {
    await fakeUpstream.addMedia({ id: '710000004', size: 2_000, seed: 4, mimeType: 'image/png' });
    const token = await callerToken({ media: ['710000004'] });
    const res = await get(`/media/710000004?token=${token}`, { token: null });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(2_000);
  });
});

describe('resolve, download and the memory tier', () => {
  it('serves a small file with its Graph mime_type and sha256 ETag, then from the isolate memory', async () => {
    const { sha256 } = await fakeUpstream.addMedia({ id: '720000001', size: 50_000, seed: 11, mimeType: 'image/jpeg', fileSizeAsString: true });
    const requestLog = captureRequestLog();
    for (let i = 0; i < 3; i++) {
      const res = await get('/media/720000001');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(res.headers.get('content-length')).toBe('50000');
      expect(res.headers.get('etag')).toBe(`"${sha256}"`);
      expect(await sha256Hex(await res.arrayBuffer())).toBe(sha256);
    }
    expect(requestLog().map((entry) => entry.cache)).toEqual(['miss', 'hit:memory', 'hit:memory']);
    expect(await fakeUpstream.count('graph', '720000001')).toBe(1);
    expect(await fakeUpstream.count('cdn', '720000001')).toBe(1);
  });

  it('sends the business token and the proxy User-Agent (workerd sends none by itself)', async () => {
    await fakeUpstream.addMedia({ id: '720000002', size: 3_000, seed: 12, mimeType: 'audio/ogg' });
    expect((await get('/media/720000002')).status).toBe(200);
    const seen = await fakeUpstream.requests('720000002');
    expect(seen.map((r) => r.kind)).toEqual(['graph', 'cdn']);
    for (const r of seen) {
      expect(r.authorized).toBe(true);
      expect(r.userAgent).toBe(`whatsapp-media-proxy/${VERSION}`);
    }
  });

  it('resolves the id again when the lookaside URL expired, and the caller never sees it', async () => {
    // A streamed file is downloaded on every request, so the second one meets the expired URL.
    const { sha256 } = await fakeUpstream.addMedia({ id: '720000003', size: 1_500_000, seed: 13, mimeType: 'video/mp4' });
    expect(await sha256Hex(await (await get('/media/720000003')).arrayBuffer())).toBe(sha256);
    await fakeUpstream.advance(6 * 60_000);
    const res = await get('/media/720000003');
    expect(res.status).toBe(200);
    expect(await sha256Hex(await res.arrayBuffer())).toBe(sha256);
    // graph: first lookup + refresh; cdn: first download, expired URL (404 HTML), retry.
    expect(await fakeUpstream.count('graph', '720000003')).toBe(2);
    expect(await fakeUpstream.count('cdn', '720000003')).toBe(3);
  });
});

describe('streaming a file larger than CACHE_MAX_ITEM_BYTES', () => {
  it('streams it with a Content-Length the runtime actually sends, and the right bytes', async () => {
    const size = 6 * 1024 * 1024 + 123;
    const { sha256 } = await fakeUpstream.addMedia({ id: '730000001', size, seed: 21, mimeType: 'video/mp4' });
    const requestLog = captureRequestLog();
    const res = await get('/media/730000001');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(size));
    // Through a real HTTP hop: without FixedLengthStream workerd would send this body chunked.
    const echoed = await fakeUpstream.echo(res.body);
    expect(echoed).toEqual({ contentLength: String(size), transferEncoding: null, bytes: size, sha256 });
    // A new download of the whole file, which would fill every tier that takes it (none here).
    expect(requestLog().map((entry) => entry.cache)).toEqual(['miss']);
  });

  it('cuts the connection before the last byte when the streamed bytes do not match Graph sha256', async () => {
    await fakeUpstream.addMedia({ id: '730000003', size: 1_500_000, seed: 23, mimeType: 'video/mp4', announcedSha256: '0'.repeat(64) });
    const res = await get('/media/730000003');
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
  });

  it('answers a Range on a streamed file with 206 and a known length', async () => {
    const size = 2 * 1024 * 1024;
    await fakeUpstream.addMedia({ id: '730000002', size, seed: 22, mimeType: 'video/mp4' });
    const res = await get('/media/730000002', { headers: { range: 'bytes=1000-1999999' } });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes 1000-1999999/${size}`);
    const echoed = await fakeUpstream.echo(res.body);
    expect(echoed.contentLength).toBe('1999000');
    expect(echoed.bytes).toBe(1_999_000);
  });
});

describe('Graph errors', () => {
  it('maps unknown object (100/33) to 404', async () => {
    const res = await get('/media/740000001');
    expect(res.status).toBe(404);
    expect(await problemCode(res)).toBe('media_not_found');
  });

  it('maps a rejected business token (190) to 502, never 401', async () => {
    await fakeUpstream.scriptGraph('740000003', { status: 401, body: { error: { message: 'bad token', type: 'OAuthException', code: 190 } } });
    const res = await get('/media/740000003');
    expect(res.status).toBe(502);
    expect(await problemCode(res)).toBe('upstream_auth_failed');
  });

  it('maps a rate limit to 503 with Retry-After, and fails fast until it passes', async () => {
    // Its own isolate: the rate-limit pause is for the whole app, and must not leak into other tests.
    const isolate = freshIsolate();
    await fakeUpstream.addMedia({ id: '740000005', size: 1_000, seed: 5, mimeType: 'image/jpeg' });
    await fakeUpstream.scriptGraph('740000004', { status: 400, body: { error: { message: 'rate', type: 'OAuthException', code: 80007 } } });
    const limited = await getVia(isolate.fetch, '/media/740000004');
    expect(limited.status).toBe(503);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await getVia(isolate.fetch, '/media/740000005')).status).toBe(503);
    expect(await fakeUpstream.count('graph', '740000005')).toBe(0);
  });
});

describe('configuration', () => {
  it('answers 500 problem+json naming the missing variable instead of crashing', async () => {
    const isolate = freshIsolate({ JWT_SECRET: 'y'.repeat(32) });
    const res = await isolate.fetch(new Request('http://proxy.test/healthz'));
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toContain('WHATSAPP_TOKEN');
    expect(isolate.logEntries().map((entry) => entry.msg)).toEqual(['configuration error: WHATSAPP_TOKEN: is required but not set (or configure WHATSAPP_ACCOUNTS / WHATSAPP_ACCOUNTS_FILE)']);
  });
});
