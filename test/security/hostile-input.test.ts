import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { rawGet, rawRequest, type RawResponse } from './raw-http.js';

const IMAGE = '1234567890123456';
const image = makeBytes(10_000, 13);

describe('hostile requests over real HTTP', () => {
  let h: Harness;
  let auth: string;
  beforeAll(async () => {
    h = await startHarness();
    h.fake.addMedia(IMAGE, { bytes: image, mimeType: 'image/jpeg' });
    auth = `Bearer ${await h.token({ media: '*' }, { ttlSeconds: 3600 })}`;
  });
  afterAll(() => h.close());

  /** After every hostile request: the server still answers a normal one, with the right bytes. */
  async function expectStillServing(): Promise<void> {
    const res = await h.get(`/media/${IMAGE}`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(image);
  }

  /** Graph is only ever asked for digits-only ids. */
  function expectGraphSawOnlyDigits(): void {
    for (const r of h.fake.requests.filter((r) => r.kind === 'graph')) expect(r.path).toMatch(/^\/v25\.0\/[0-9]{1,32}$/);
  }

  const encodedImage = [...IMAGE].map((d) => `%3${d}`).join('');

  it.each([
    // [request target, expected status]
    [`/media/${encodedImage}`, 200], // percent-encoded digits decode to the same id: same resource
    ['/media/%31%32%33x', 400],
    ['/media/123%2F456', 400],
    ['/media/123%2f..%2f456', 400],
    ['/media/..%2Fhealthz', 400],
    ['/media/%2e%2e%2fhealthz', 400],
    ['/media/123%00', 400],
    ['/media/%00', 400],
    ['/media/123%0d%0aSet-Cookie:%20a=b', 400],
    ['/media/%E2%80%AE123', 400],
    ['/media/%D9%A1%D9%A2%D9%A3', 400], // Arabic-Indic digits are not [0-9]
    ['/media/%EF%BC%91%EF%BC%92', 400], // fullwidth digits
    ['/media/%', 400],
    ['/media/%zz', 400],
    ['/media/%%32', 400],
    ['/media/+123', 400],
    ['/media/-123', 400],
    ['/media/0x1F', 400],
    ['/media/1e5', 400],
    ['/media/123%20', 400],
    [`/media/${'9'.repeat(33)}`, 400],
    [`/media/${'9'.repeat(5000)}`, 400],
    // Dot segments are resolved as a browser would (WHATWG URL, in @hono/node-server) before routing,
    // so they can only name another route of ours, never a file or an upstream path.
    ['/media/../healthz', 200],
    ['/media/%2e%2e', 404],
    ['/media/%2E%2E/', 404],
    [`/media/./${IMAGE}`, 200],
    [`/media/%2e/${IMAGE}`, 200],
    [`/healthz/../media/${IMAGE}`, 200],
    [`/media/x/../${IMAGE}`, 200],
    ['/media/123/..', 404],
    ['/media/../../../../etc/passwd', 404],
    ['/media//123', 404],
    ['/media/123/', 404],
    ['/MEDIA/123', 404],
    ['//media/123', 404],
    ['/media', 404],
    ['/media/', 404],
    ['/%6d%65%64%69%61/123', 404],
  ])('%s answers %i and never asks Graph for anything but digits', async (target, status) => {
    const res = await rawRequest(h.url, rawGet(target, { authorization: auth }));
    expect(res.status).toBe(status);
    expect(res.head.toLowerCase()).toContain('x-content-type-options: nosniff');
    expect(res.head.toLowerCase()).not.toContain('set-cookie');
    expectGraphSawOnlyDigits();
    await expectStillServing();
  });

  it('any id segment, percent-encoded, is a 400 unless it is digits (fast-check over HTTP)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), fc.stringMatching(/^[0-9]{1,3}[^0-9]?[0-9]{0,3}$/)), async (segment) => {
        const res = await rawRequest(h.url, rawGet(`/media/${encodeURIComponent(segment)}`, { authorization: auth }));
        const digits = /^[0-9]{1,32}$/.test(segment);
        // Digits-only ids are looked up (unknown here: 404); "." and ".." are dot segments.
        if (digits) expect(res.status).toBe(404);
        else if (segment === '.' || segment === '..') expect([200, 404]).toContain(res.status);
        else expect(res.status).toBe(400);
        expectGraphSawOnlyDigits();
      }),
      { numRuns: 150 },
    );
    await expectStillServing();
  });

  it.each([
    ['asterisk-form target', 400, 'GET * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'],
    ['target without a leading slash', 400, `GET media/${IMAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`],
    ['a NUL in the target', 400, `GET /media/${IMAGE}\u0000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`],
    ['a bare LF line ending', 400, `GET /media/${IMAGE} HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n`],
    ['obs-fold header', 400, `GET /media/${IMAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\n  folded\r\nConnection: close\r\n\r\n`],
    ['Content-Length and Transfer-Encoding (smuggling)', 400, `GET /media/${IMAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n`],
    ['two Content-Lengths', 400, `GET /media/${IMAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab`],
    ['a header name with a space', 400, `GET /media/${IMAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: 1\r\nConnection: close\r\n\r\n`],
    ['HTTP/0.9-style request, without a token', 401, `GET /media/${IMAGE}\r\n\r\n`],
    ['garbage', 400, '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003 not http at all\r\n\r\n'],
    ['a CONNECT to another host (connection closed, no answer)', 0, 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nConnection: close\r\n\r\n'],
  ] as const)('%s is answered %i without crashing anything', async (_what, status, request) => {
    const res = await rawRequest(h.url, request);
    expect(res.status).toBe(status);
    expectGraphSawOnlyDigits();
    await expectStillServing();
  });

  it('answers an absolute-form target on another host with its own resource: it is not an open proxy', async () => {
    const contactsBefore = h.fake.requests.length;
    const res = await rawRequest(h.url, `GET http://evil.example/media/${IMAGE} HTTP/1.1\r\nHost: evil.example\r\nAuthorization: ${auth}\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(200);
    expect(res.head).toContain(`content-length: ${image.byteLength}`);
    expect(h.fake.requests.length).toBe(contactsBefore); // served from memory, nothing fetched
    await expectStillServing();
  });

  it('answers 431 to huge headers, and stays up', async () => {
    const cdnBefore = h.fake.count('cdn');
    for (const headers of [{ 'x-huge': 'a'.repeat(64 * 1024) }, Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`x-h${i}`, 'v'.repeat(20)])), { authorization: `Bearer ${'a'.repeat(100_000)}` }, { cookie: 'c='.repeat(20_000) }]) {
      const res = await rawRequest(h.url, rawGet(`/media/${IMAGE}`, headers));
      expect(res.status).toBe(431);
      expectRefusal(res, 'request_header_too_large');
      await expectStillServing();
    }
    // Nothing but the normal requests in between reached upstream (served from memory).
    expect(h.fake.count('cdn')).toBe(cdnBefore);
  });

  /** What Node's parser refuses is answered as the app answers any refusal, and logged without the request. */
  function expectRefusal(res: RawResponse, code: string): void {
    const header = (name: string) => new RegExp(`\r\n${name}: ([^\r]*)(?:\r\n|$)`).exec(res.head)?.[1];
    expect(header('content-type')).toBe('application/problem+json');
    expect(header('x-content-type-options')).toBe('nosniff');
    expect(header('connection')).toBe('close');
    const requestId = header('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(res.body)).toMatchObject({ code, status: res.status });
    expect(h.logEntries().find((e) => e.requestId === requestId)).toMatchObject({ msg: 'request refused by the HTTP parser', code, status: res.status });
  }

  it.each([
    ['a header line without a colon', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n'],
    ['an unknown method', 'BREW /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'],
    ['both Content-Length and Transfer-Encoding', 'POST /webhooks/whatsapp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ])('answers 400 problem+json to %s, and stays up', async (_what, request) => {
    const res = await rawRequest(h.url, request);
    expect(res.status).toBe(400);
    expectRefusal(res, 'malformed_request');
    await expectStillServing();
  });

  it('answers a long query string: 431 past the header limit, normally below it; the query is never logged', async () => {
    const huge = await rawRequest(h.url, rawGet(`/media/${IMAGE}?x=${'q'.repeat(100_000)}`, { authorization: auth }));
    expect(huge.status).toBe(431);
    await expectStillServing();
    const marker = `marker${'q'.repeat(8_000)}`;
    const long = await rawRequest(h.url, rawGet(`/media/${IMAGE}?x=${marker}&${'a=1&'.repeat(500)}download=1`, { authorization: auth }));
    expect(long.status).toBe(200);
    expect(long.head).toContain(`filename="${IMAGE}.jpg"`);
    expect(h.logs.join('\n')).not.toContain('marker');
    await expectStillServing();
  });

  it('answers long paths without stalling everyone else, and logs them cut', async () => {
    // The log's redaction once scanned a dotless path from every position: 0.4-0.8 s of the event
    // loop per 16 000-character path, for anyone, without a token. Twenty of them took 8-16 s.
    const path = `/media/${'a'.repeat(16_000)}`;
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => rawRequest(h.url, rawGet(path))));
    const healthz = await rawRequest(h.url, rawGet('/healthz'));
    expect(Date.now() - started).toBeLessThan(3_000);
    for (const res of answers) expect(res.status).toBe(401);
    expect(healthz.status).toBe(200);
    const logged = h.logEntries().filter((e) => e.msg === 'request' && typeof e.path === 'string' && e.path.startsWith('/media/aaa'));
    expect(logged).toHaveLength(20);
    for (const e of logged) expect(e.path).toBe(`/media/${'a'.repeat(249)}…`);
    await expectStillServing();
  });

  it('an oversized token is a 401, not work', async () => {
    const res = await h.get(`/media/${IMAGE}`, { token: `${'a'.repeat(9_000)}.b.c` });
    expect(res.status).toBe(401);
    await expectStillServing();
  });

  it('does not echo a hostile X-Request-Id', async () => {
    for (const id of ['<script>alert(1)</script>', 'a'.repeat(200), 'x y', '../../etc', 'id\u00ff']) {
      const res = await rawRequest(h.url, rawGet('/healthz', { 'x-request-id': id }));
      expect(res.status).toBe(200);
      expect(res.head).not.toContain(id);
      expect(res.head).toMatch(/x-request-id: [0-9a-f-]{36}/i);
    }
    await expectStillServing();
  });

  const bogusRanges = [
    'bytes=',
    'bytes=-',
    'bytes=--1',
    'bytes=1-0',
    'bytes=-0',
    'bytes=0-0,1-1',
    'bytes=0-1, 2-3',
    'bytes=99999999999999999999-',
    'bytes=0-99999999999999999999',
    'bytes=-99999999999999999999',
    'bytes=1e3-2e3',
    'bytes=0x10-0x20',
    'bytes= 0 - 9 ',
    'bytes=\t0-9',
    'BYTES=0-9',
    'items=0-9',
    'bytes=0-9;x',
    `bytes=${'0'.repeat(300)}-1`,
    `bytes=${'0-1,'.repeat(1000)}0-1`,
    'bytes=10000-',
    'bytes=9999-',
    'bytes=-10001',
  ];

  it.each(bogusRanges)('Range %j: 200, 206 or 416 with consistent headers, never a crash', async (range) => {
    const res = await h.get(`/media/${IMAGE}`, { headers: { range } });
    const body = new Uint8Array(await res.arrayBuffer());
    expect([200, 206, 416]).toContain(res.status);
    if (res.status === 200) expect(body).toEqual(image);
    if (res.status === 206) {
      const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
      expect(match).not.toBeNull();
      const [start, end, size] = [Number(match![1]), Number(match![2]), Number(match![3])];
      expect(size).toBe(image.byteLength);
      expect(body).toEqual(image.subarray(start, end + 1));
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
    }
    if (res.status === 416) expect(res.headers.get('content-range')).toBe(`bytes */${image.byteLength}`);
    await expectStillServing();
  });
});
