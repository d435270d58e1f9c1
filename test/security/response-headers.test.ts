import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';

const IMAGE = '1234567890123456';
const PDF = '2000000000000001';
const HTML = '2000000000000002';
const SVG = '2000000000000003';
const XML = '2000000000000004';
const image = makeBytes(3_000, 5);
const SANDBOX_CSP = "default-src 'none'; sandbox";

function expectBaseHeaders(res: Response, what: string): void {
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
}

describe('headers on every response', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.addMedia(IMAGE, { bytes: image, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  it('nosniff and no-referrer on media, ranges, 304, 416, HEAD, errors, 404s, 405 and /healthz', async () => {
    const etag = (await h.get(`/media/${IMAGE}`)).headers.get('etag')!;
    const cases: Array<[string, Promise<Response>, number]> = [
      ['200', h.get(`/media/${IMAGE}`), 200],
      ['206', h.get(`/media/${IMAGE}`, { headers: { range: 'bytes=0-9' } }), 206],
      ['304', h.get(`/media/${IMAGE}`, { headers: { 'if-none-match': etag } }), 304],
      ['416', h.get(`/media/${IMAGE}`, { headers: { range: 'bytes=999999-' } }), 416],
      ['HEAD', h.get(`/media/${IMAGE}`, { method: 'HEAD' }), 200],
      ['400', h.get('/media/abc'), 400],
      ['401', h.get(`/media/${IMAGE}`, { token: null }), 401],
      ['403', h.token({ media: ['1'] }).then((token) => h.get(`/media/${IMAGE}`, { token })), 403],
      ['404 media', h.get('/media/999'), 404],
      ['404 route', h.get('/nope'), 404],
      ['404 root', h.get('/'), 404],
      ['405', h.get(`/media/${IMAGE}`, { method: 'PUT' }), 405],
      ['healthz', fetch(`${h.url}/healthz`), 200],
      ['HEAD healthz', fetch(`${h.url}/healthz`, { method: 'HEAD' }), 200],
    ];
    for (const [what, pending, status] of cases) {
      const res = await pending;
      await res.arrayBuffer();
      expect(res.status, what).toBe(status);
      expectBaseHeaders(res, what);
    }
  });

  it('502 answers too, and their bodies name neither the upstream URL nor the token', async () => {
    h.fake.overrideUrl(IMAGE, 'https://evil.example/x?hash=secret');
    const token = await h.token();
    const res = await fetch(`${h.url}/media/${IMAGE}?token=${token}`);
    expect(res.status).toBe(502);
    expectBaseHeaders(res, '502');
    const text = await res.text();
    expect(text).not.toMatch(/evil|hash=|secret/);
    expect(text).not.toContain(token);
    expect(text.length).toBeLessThan(400);
  });

  it('media carries CORP cross-origin and the sandbox CSP', async () => {
    const res = await h.get(`/media/${IMAGE}`);
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(res.headers.get('content-security-policy')).toBe(SANDBOX_CSP);
    expect(res.headers.get('content-disposition')).toBeNull();
    expect(res.headers.get('vary')).toBeNull(); // CORS is off by default
  });
});

describe('user-sent documents on our origin', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    const text = (s: string) => new TextEncoder().encode(s);
    h.fake.addMedia(PDF, { bytes: text('%PDF-1.4\n%%EOF\n'), mimeType: 'application/pdf' });
    h.fake.addMedia(HTML, { bytes: text('<script>parent.document.cookie</script>'), mimeType: 'text/html' });
    h.fake.addMedia(SVG, { bytes: text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), mimeType: 'image/svg+xml' });
    h.fake.addMedia(XML, { bytes: text('<x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>'), mimeType: 'application/xhtml+xml' });
    h.fake.addMedia(IMAGE, { bytes: image, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  it.each([
    [HTML, 'html'],
    [SVG, 'svg'],
    [XML, 'bin'],
  ])('%s is served as an attachment with the sandbox CSP', async (id, ext) => {
    for (const method of ['GET', 'HEAD']) {
      const res = await h.get(`/media/${id}`, { method });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${id}.${ext}"`);
      expect(res.headers.get('content-security-policy')).toBe(SANDBOX_CSP);
      expectBaseHeaders(res, id);
    }
  });

  it('a PDF opens inline, under the same sandbox CSP (checked in Chromium, see README)', async () => {
    const res = await h.get(`/media/${PDF}`);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBeNull();
    expect(res.headers.get('content-security-policy')).toBe(SANDBOX_CSP);
  });

  it('?download=1 forces an attachment named <id>.<ext>, on GET, HEAD and ranges', async () => {
    for (const init of [{}, { method: 'HEAD' }, { headers: { range: 'bytes=0-1' } }]) {
      const res = await h.get(`/media/${IMAGE}?download=1`, init);
      await res.arrayBuffer();
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${IMAGE}.jpg"`);
    }
    const pdf = await h.get(`/media/${PDF}?download=1`);
    expect(pdf.headers.get('content-disposition')).toBe(`attachment; filename="${PDF}.pdf"`);
    // Only exactly 1 asks for it; a cached inline answer is not reused for a download or back.
    expect((await h.get(`/media/${IMAGE}?download=true`)).headers.get('content-disposition')).toBeNull();
    expect((await h.get(`/media/${IMAGE}`)).headers.get('content-disposition')).toBeNull();
  });
});

describe('methods on /media/:id', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.addMedia(IMAGE, { bytes: image, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  it.each(['POST', 'PUT', 'PATCH', 'OPTIONS', 'PROPFIND'])('%s gets 405 with Allow: GET, HEAD, DELETE, before any auth or upstream call', async (method) => {
    const res = await h.get(`/media/${IMAGE}`, { method, token: null });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, DELETE');
    expect((await res.json()).code).toBe('method_not_allowed');
    expect(h.fake.requests).toHaveLength(0);
  });
});

describe('CORS_ORIGINS', () => {
  const APP = 'https://app.example';
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ env: { CORS_ORIGINS: `${APP},https://admin.example` } });
    h.fake.addMedia(IMAGE, { bytes: image, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  it('answers a preflight from a listed origin without auth, and nothing upstream', async () => {
    const res = await fetch(`${h.url}/media/${IMAGE}`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, range' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET,HEAD,OPTIONS');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('range');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/Origin/);
    expectBaseHeaders(res, 'preflight');
    expect(h.fake.requests).toHaveLength(0);
  });

  it('allows fetch() from a listed origin: ACAO, exposed headers, Vary: Origin, on success and on errors', async () => {
    const ok = await h.get(`/media/${IMAGE}`, { headers: { origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/Content-Range/);
    expect(ok.headers.get('vary')).toMatch(/Origin/);
    expect(ok.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    const denied = await h.get(`/media/${IMAGE}`, { headers: { origin: APP }, token: null });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('access-control-allow-origin')).toBe(APP);
    expect(denied.headers.get('vary')).toMatch(/Origin/);
  });

  it('gives other origins no ACAO, but still varies on Origin', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.evil.example', 'http://app.example', 'null', 'https://APP.example']) {
      const res = await h.get(`/media/${IMAGE}`, { headers: { origin } });
      await res.arrayBuffer();
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(res.headers.get('vary')).toMatch(/Origin/);
      const preflight = await fetch(`${h.url}/media/${IMAGE}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET' } });
      expect(preflight.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it('adds OPTIONS to Allow on 405, and leaves /healthz alone', async () => {
    const res = await h.get(`/media/${IMAGE}`, { method: 'POST', headers: { origin: APP } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, DELETE, OPTIONS');
    const health = await fetch(`${h.url}/healthz`, { headers: { origin: APP } });
    expect(health.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses malformed origins at start', async () => {
    const { loadConfig } = await import('../../src/config.js');
    for (const bad of ['app.example', 'https://app.example/path', '*', 'null', 'https://u@app.example']) {
      expect(() => loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: 'x'.repeat(32), CORS_ORIGINS: bad }), bad).toThrow(/CORS_ORIGINS/);
    }
  });
});
