import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';

const IMAGE_ID = '1234567890123456';

describe('GET /healthz', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ env: { CACHE_MAX_BYTES: '1000000', CACHE_MAX_ITEM_BYTES: '500000' } });
  });
  afterEach(() => h.close());

  it('answers without auth, uncached, with the version and the cache fill, without touching upstream', async () => {
    const empty = await fetch(`${h.url}/healthz`);
    expect(empty.status).toBe(200);
    expect(empty.headers.get('cache-control')).toBe('no-store');
    expect(await empty.json()).toEqual({ status: 'ok', version: '0.0.0-test', cache: { bytes: 0, entries: 0, maxBytes: 1_000_000 }, store: { kind: 'none' } });
    expect(h.fake.requests).toHaveLength(0);

    h.fake.addMedia(IMAGE_ID, { bytes: makeBytes(4_321, 6), mimeType: 'image/png' });
    await (await h.get(`/media/${IMAGE_ID}`)).arrayBuffer();
    const filled = await (await fetch(`${h.url}/healthz`)).json();
    expect(filled).toEqual({ status: 'ok', version: '0.0.0-test', cache: { bytes: 4_321, entries: 1, maxBytes: 1_000_000 }, store: { kind: 'none' } });
  });

  it('answers 405 with Allow: GET, HEAD to any other method', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'PURGE']) {
      const res = await fetch(`${h.url}/healthz`, { method });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
      expect((await res.json()).code).toBe('method_not_allowed');
    }
  });

  it('leaves /metrics a 404 for every method when the runtime has no scraper for it', async () => {
    for (const method of ['GET', 'POST', 'DELETE']) expect((await fetch(`${h.url}/metrics`, { method })).status, method).toBe(404);
  });
});
