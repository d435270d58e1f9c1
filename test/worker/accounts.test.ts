/** A Worker serving two business accounts (WHATSAPP_TOKEN and WHATSAPP_TOKEN_ACME as Worker secrets). */
import { describe, expect, it } from 'vitest';
import { callerToken, fakeUpstream, sha256Hex } from './fake-upstream.js';
import { freshIsolate, get } from './proxy-client.js';

describe('a Worker with two accounts', () => {
  it('serves each account its own media, and never another account’s, even from the edge cache', async () => {
    const { sha256 } = await fakeUpstream.addMedia({ id: '860000001', size: 50_000, seed: 86, mimeType: 'image/jpeg', owner: 'second' });
    const acme = await callerToken({ media: '*', acct: 'acme' });
    const first = freshIsolate();
    const own = await get(first.fetch, '/media/860000001', { token: acme });
    expect(own.status).toBe(200);
    expect(await sha256Hex(await own.arrayBuffer())).toBe(sha256);
    await first.settle(); // now in acme's edge-cache entry too

    // Another isolate, the default account's caller with media "*": its Graph says the id is unknown.
    const other = await get(freshIsolate().fetch, '/media/860000001', { token: await callerToken({ media: '*' }) });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { code: string }).code).toBe('media_not_found');

    // acme's caller on a third isolate: the edge cache answers, no Graph lookup.
    const again = await get(freshIsolate().fetch, '/media/860000001', { token: acme });
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    expect(await fakeUpstream.count('cdn', '860000001')).toBe(1);
  });

  it('answers 403 unknown_account for an account the Worker does not serve', async () => {
    const res = await get(freshIsolate().fetch, '/media/860000002', { token: await callerToken({ media: '*', acct: 'globex' }) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('unknown_account');
  });
});
