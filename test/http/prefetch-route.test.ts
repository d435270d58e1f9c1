/** POST /prefetch over real HTTP; the queue downloads from the fake Graph + CDN. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';

const IDS = ['810000001', '810000002', '810000003'];

describe('POST /prefetch', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ env: { PREFETCH_QUEUE_MAX: '5' } });
    IDS.forEach((id, i) => h.fake.addMedia(id, { bytes: makeBytes(4_000, i + 1), mimeType: 'image/png' }));
  });
  afterEach(() => h.close());

  const serviceToken = (claims: Record<string, unknown> = {}) => h.token({ media: '*', scope: 'media:read media:prefetch', ...claims });

  async function prefetch(body: unknown, token: string | null, raw = false): Promise<Response> {
    return fetch(`${h.url}/prefetch`, {
      method: 'POST',
      body: raw ? String(body) : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    });
  }

  async function code(res: Response): Promise<string> {
    return ((await res.json()) as { code: string }).code;
  }

  it('answers 202 with each id queued, downloads each once, and answers `stored` after', async () => {
    const res = await prefetch({ media: IDS }, await serviceToken());
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ media: IDS.map((id) => ({ id, state: 'queued' })) });
    await h.proxy.prefetchQueue!.idle();
    for (const id of IDS) expect(h.fake.count('cdn', id)).toBe(1);
    const again = await prefetch({ media: [IDS[0], IDS[1]] }, await serviceToken());
    expect(await again.json()).toEqual({ media: [{ id: IDS[0], state: 'stored' }, { id: IDS[1], state: 'stored' }] });
    expect(h.fake.count('cdn')).toBe(3);
  });

  it('answers `invalid` for a string that is not a media id, and lists a repeated id once', async () => {
    const res = await prefetch({ media: [IDS[0], 'abc', IDS[0], '../x'] }, await serviceToken());
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ media: [{ id: IDS[0], state: 'queued' }, { id: 'abc', state: 'invalid' }, { id: '../x', state: 'invalid' }] });
  });

  it('accepts a token listing exactly the ids; refuses with 403 one that misses any, and fetches nothing', async () => {
    expect((await prefetch({ media: [IDS[0]] }, await serviceToken({ media: [IDS[0]] }))).status).toBe(202);
    const res = await prefetch({ media: [IDS[1], IDS[2]] }, await serviceToken({ media: [IDS[1]] }));
    expect(res.status).toBe(403);
    expect(await code(res)).toBe('forbidden');
    await h.proxy.prefetchQueue!.idle();
    expect(h.fake.count('graph', IDS[1])).toBe(0);
  });

  it('answers 403 insufficient_scope without media:prefetch in the scope claim', async () => {
    for (const scope of [undefined, '', 'media:read', 'media:prefetchx', ['media:prefetch']]) {
      const res = await prefetch({ media: [IDS[0]] }, await h.token({ media: '*', ...(scope === undefined ? {} : { scope }) }));
      expect(res.status).toBe(403);
      expect(await code(res)).toBe('insufficient_scope');
    }
    expect(h.fake.requests).toEqual([]);
  });

  it('answers 401 without a bearer token (no ?token= here) and with a malformed acct claim; 403 for an account it does not serve', async () => {
    expect((await prefetch({ media: [IDS[0]] }, null)).status).toBe(401);
    const viaQuery = await fetch(`${h.url}/prefetch?token=${await serviceToken()}`, { method: 'POST', body: JSON.stringify({ media: [IDS[0]] }) });
    expect(viaQuery.status).toBe(401);
    expect((await prefetch({ media: [IDS[0]] }, await serviceToken({ acct: 'Not An Account' }))).status).toBe(401);
    const other = await prefetch({ media: [IDS[0]] }, await serviceToken({ acct: 'acme' }));
    expect(other.status).toBe(403);
    expect(await code(other)).toBe('unknown_account');
    expect((await prefetch({ media: [IDS[0]] }, await serviceToken({ acct: 'default' }))).status).toBe(202);
  });

  it('answers 400 to bad JSON and to bodies that are not 1 to 100 string ids', async () => {
    const token = await serviceToken();
    const bodies: Array<[unknown, boolean]> = [
      ['{"media": [', true],
      ['', true],
      [[IDS[0]], false],
      [{ media: [] }, false],
      [{ media: IDS[0] }, false],
      [{ media: [Number(IDS[0])] }, false],
      [{ media: [IDS[0], null] }, false],
      [{ media: Array.from({ length: 101 }, (_, i) => String(900 + i)) }, false],
      [{ ids: IDS }, false],
    ];
    for (const [body, raw] of bodies) {
      const res = await prefetch(body, token, raw);
      expect(res.status).toBe(400);
      expect(await code(res)).toBe('invalid_request');
    }
    expect((await prefetch({ media: Array.from({ length: 100 }, (_, i) => String(900 + i)) }, token)).status).toBe(503);
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    const res = await prefetch({ media: ['900', '901', '902', '903', '904', '905'] }, await serviceToken());
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await code(res)).toBe('queue_full');
  });

  it('answers 405 to GET', async () => {
    const res = await fetch(`${h.url}/prefetch`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
});
