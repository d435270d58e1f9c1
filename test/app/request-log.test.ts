import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';

const IMAGE_ID = '1234567890123456';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('X-Request-Id', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
    h.fake.addMedia(IMAGE_ID, { bytes: makeBytes(1_000, 5), mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  const requestLines = () => h.logEntries().filter((e) => e.msg === 'request');

  it('echoes a sane incoming id on media, error and health answers, and logs it', async () => {
    const ids = ['req-1.a:B_c', 'f'.repeat(128)];
    const media = await h.get(`/media/${IMAGE_ID}`, { headers: { 'x-request-id': ids[0]! } });
    expect(media.status).toBe(200);
    expect(media.headers.get('x-request-id')).toBe(ids[0]);
    const denied = await h.get(`/media/${IMAGE_ID}`, { token: null, headers: { 'x-request-id': ids[1]! } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('x-request-id')).toBe(ids[1]);
    const health = await fetch(`${h.url}/healthz`, { headers: { 'x-request-id': 'health-check-7' } });
    expect(health.headers.get('x-request-id')).toBe('health-check-7');
    expect(requestLines().map((e) => e.requestId)).toEqual([...ids, 'health-check-7']);
  });

  it.each([
    ['too long', 'a'.repeat(129)],
    ['spaces', 'two words'],
    ['a forged log field', 'x","level":"error'],
    ['percent signs', 'id%0Aforged'],
  ])('replaces an insane incoming id (%s) with a fresh UUID', async (_why, incoming) => {
    const res = await h.get(`/media/${IMAGE_ID}`, { headers: { 'x-request-id': incoming } });
    const echoed = res.headers.get('x-request-id');
    expect(echoed).toMatch(UUID);
    expect(requestLines()[0]?.requestId).toBe(echoed);
  });

  it('echoes the id on a CORS preflight too, which the cors middleware answers before any handler', async () => {
    await h.close();
    h = await startHarness({ env: { CORS_ORIGINS: 'https://app.example' } });
    const preflight = await fetch(`${h.url}/media/${IMAGE_ID}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'x-request-id': 'preflight-1' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('x-request-id')).toBe('preflight-1');
    expect(requestLines().map((e) => e.requestId)).toEqual(['preflight-1']);
  });

  it('mints a distinct id for each request that brings none', async () => {
    const a = (await h.get(`/media/${IMAGE_ID}`)).headers.get('x-request-id');
    const b = (await h.get(`/media/${IMAGE_ID}`)).headers.get('x-request-id');
    expect(a).toMatch(UUID);
    expect(b).toMatch(UUID);
    expect(a).not.toBe(b);
  });
});

describe('request log line', () => {
  let h: Harness;
  const image = makeBytes(1_000, 5);
  beforeEach(async () => {
    h = await startHarness();
    h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  it('reports the bytes each answer declares: full, hit, range, HEAD, 304, error, /healthz', async () => {
    const first = await h.get(`/media/${IMAGE_ID}`);
    const etag = first.headers.get('etag')!;
    await first.arrayBuffer();
    await (await h.get(`/media/${IMAGE_ID}`)).arrayBuffer();
    await (await h.get(`/media/${IMAGE_ID}`, { headers: { range: 'bytes=10-109' } })).arrayBuffer();
    await (await h.get(`/media/${IMAGE_ID}`, { method: 'HEAD' })).arrayBuffer();
    await (await h.get(`/media/${IMAGE_ID}`, { headers: { 'if-none-match': etag } })).arrayBuffer();
    const unauthorized = (await (await h.get(`/media/${IMAGE_ID}`, { token: null })).arrayBuffer()).byteLength;
    const health = (await (await fetch(`${h.url}/healthz`)).arrayBuffer()).byteLength;
    const lines = h.logEntries().filter((e) => e.msg === 'request');
    expect(lines.map((e) => [e.status, e.cache, e.bytes])).toEqual([
      [200, 'miss', 1_000],
      [200, 'hit:memory', 1_000],
      [206, 'hit:memory', 100],
      [200, 'hit:memory', 1_000],
      [304, 'hit:memory', undefined],
      [401, undefined, unauthorized],
      [200, undefined, health],
    ]);
    expect(unauthorized).toBeGreaterThan(0);
  });
});
