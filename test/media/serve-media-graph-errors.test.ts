/**
 * GET /media/:id when Graph answers an error or nonsense: unknown objects, a rejected business token,
 * permission errors, rate limits, transient failures and their retries, timeouts, and announced
 * sha256 and file_size values that cannot be right.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { graphError, sha256Hex } from '../support/fake-whatsapp.js';
import { bodyBytes } from '../support/bytes.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { image } from './serve-media-fixtures.js';

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
