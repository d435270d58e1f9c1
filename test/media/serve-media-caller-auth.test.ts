/**
 * GET /media/:id before anything goes upstream: the caller token (missing, foreign, expired, without
 * exp, not yet valid, not covering the id), malformed ids, /healthz without auth, and what the request
 * log never holds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Harness } from '../support/proxy-harness.js';
import { IMAGE_ID, image, startWithImage } from './serve-media-fixtures.js';

describe('caller auth and input', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startWithImage();
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
