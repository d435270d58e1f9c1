import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { recordingFetch, type Contact } from '../upstream/recording-fetch.js';
import { rawGet, rawRequest } from './raw-http.js';

const IMAGE = '1234567890123456';
const image = makeBytes(2_000, 11);

describe('a caller token in ?token=', () => {
  let h: Harness;
  const contacts: Contact[] = [];
  beforeEach(async () => {
    contacts.length = 0;
    h = await startHarness({ deps: { fetch: recordingFetch(contacts) } });
    h.fake.addMedia(IMAGE, { bytes: image, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  /** The token, and its signature alone: neither may show up anywhere but the caller's own request. */
  function secretsOf(token: string): string[] {
    return [token, token.split('.')[2]!];
  }

  function expectNowhere(token: string, bodies: string[]): void {
    const logs = h.logs.join('\n');
    const upstream = JSON.stringify(contacts) + JSON.stringify(h.fake.requests.map((r) => [r.path, r.headers]));
    for (const secret of secretsOf(token)) {
      expect(logs).not.toContain(secret);
      expect(upstream).not.toContain(secret);
      for (const body of bodies) expect(body).not.toContain(secret);
    }
    expect(logs).not.toMatch(/token=/);
  }

  it('never reaches a log line, an error body or an upstream request', async () => {
    const good = await h.token({ media: [IMAGE] });
    const wrongId = await h.token({ media: ['1'] });
    const expired = await h.token({ media: '*' }, { ttlSeconds: 1 });
    const tampered = `${good.slice(0, -4)}AAAA`;
    h.clock.advance(60_000);
    const bodies: string[] = [];
    for (const [token, status] of [
      [good, 200],
      [good, 200],
      [wrongId, 403],
      [expired, 401],
      [tampered, 401],
    ] as const) {
      const res = await fetch(`${h.url}/media/${IMAGE}?token=${token}`);
      expect(res.status).toBe(status);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      bodies.push(res.status === 200 ? '' : await res.text());
      if (res.status === 200) await res.arrayBuffer();
    }
    for (const token of [good, wrongId, expired, tampered]) expectNowhere(token, bodies);
  });

  it('stays out of the logs on upstream failures, invalid ids, 404s and 405s', async () => {
    const token = await h.token({ media: '*' });
    h.fake.overrideUrl(IMAGE, 'https://evil.example/x');
    const bodies: string[] = [];
    for (const [path, method] of [
      [`/media/${IMAGE}`, 'GET'],
      ['/media/abc', 'GET'],
      ['/media/424242', 'GET'],
      [`/media/${IMAGE}`, 'POST'],
      ['/nowhere', 'GET'],
    ] as const) {
      const res = await fetch(`${h.url}${path}?token=${token}&download=1`, { method });
      expect(res.status).toBeGreaterThanOrEqual(400);
      bodies.push(await res.text());
    }
    expectNowhere(token, bodies);
    // The request lines were logged, without their query.
    const paths = h.logEntries().filter((e) => e.msg === 'request').map((e) => e.path);
    expect(paths).toEqual([`/media/${IMAGE}`, '/media/abc', '/media/424242', `/media/${IMAGE}`, '/nowhere']);
  });

  it('a percent-encoded ?token= still works and is still not logged', async () => {
    const token = await h.token({ media: '*' });
    const encoded = [...token].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    const res = await fetch(`${h.url}/media/${IMAGE}?token=${encoded}`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expectNowhere(token, []);
    expect(h.logs.join('\n')).not.toContain(encoded.slice(0, 60));
  });

  it('an Authorization header is never logged either, whatever its shape', async () => {
    const token = await h.token({ media: '*' });
    for (const authorization of [`Bearer ${token}`, `bearer  ${token} `, `Basic ${token}`, `Bearer ${token} extra`, `Bearer ${token}\t`]) {
      const res = await h.get(`/media/${IMAGE}`, { headers: { authorization } });
      await res.arrayBuffer();
    }
    expectNowhere(token, []);
  });

  it('a token pasted into the path (a client bug) is not logged', async () => {
    const token = await h.token({ media: '*' });
    for (const path of [`/media/${token}`, `/${token}`, `/media/${IMAGE}/${token}`]) {
      const res = await rawRequest(h.url, rawGet(path));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.body).not.toContain(token);
    }
    expectNowhere(token, []);
  });
});
