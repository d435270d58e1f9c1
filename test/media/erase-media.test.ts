/** DELETE /media/:id: erasure from every tier this proxy reaches, for callers with media:delete. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DirectoryStore } from '../../src/runtime/directory-store.js';
import { bodyBytes } from '../support/bytes.js';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { openTempStore, untilStored, type TempStore } from '../support/temp-store.js';

const ID = '640000000000001';
const photo = makeBytes(40_000, 64);
const key = { account: 'default', id: ID };

describe('DELETE /media/:id', () => {
  let h: Harness;
  let store: DirectoryStore;
  let temp: TempStore;

  beforeEach(async () => {
    temp = await openTempStore();
    store = temp.store;
    h = await startHarness({ deps: { store } });
    h.fake.addMedia(ID, { bytes: photo, mimeType: 'image/jpeg' });
    await bodyBytes(await h.get(`/media/${ID}`));
    expect(await untilStored(store, key)).toBeDefined();
    expect(h.proxy.memory.entries).toBe(1);
  });
  afterEach(async () => {
    await h.close();
    await temp.remove();
  });

  const erase = async (claims: Record<string, unknown>) => h.get(`/media/${ID}`, { method: 'DELETE', token: await h.token(claims) });

  it('removes the media from memory and the store, and answers 204 again when nothing is left', async () => {
    const res = await erase({ media: [ID], scope: 'media:read media:delete' });
    expect(res.status).toBe(204);
    expect(h.proxy.memory.entries).toBe(0);
    expect(await store.get(key)).toBeUndefined();
    expect((await erase({ media: [ID], scope: 'media:delete' })).status).toBe(204);
    // Meta has forgotten it too: nothing anywhere answers it any more.
    h.fake.deleteMedia(ID);
    expect((await h.get(`/media/${ID}`)).status).toBe(404);
  });

  it('refuses a token without the media:delete scope, or whose media claim does not cover the id', async () => {
    const noScope = await erase({ media: '*' });
    expect(noScope.status).toBe(403);
    expect((await noScope.json()).code).toBe('insufficient_scope');
    expect((await erase({ media: ['640000000000009'], scope: 'media:delete' })).status).toBe(403);
    expect(await store.get(key)).toBeDefined();
    expect(h.proxy.memory.entries).toBe(1);
  });

  it('takes the token from the Authorization header only, never from ?token=', async () => {
    const token = await h.token({ media: [ID], scope: 'media:delete' });
    const res = await fetch(`${h.url}/media/${ID}?token=${token}`, { method: 'DELETE' });
    expect(res.status).toBe(401);
    expect((await res.json()).detail).toBe('send Authorization: Bearer <token>');
    expect(h.proxy.memory.entries).toBe(1);
    expect(await store.get(key)).toBeDefined();
    // The same token in the header erases it.
    expect((await h.get(`/media/${ID}`, { method: 'DELETE', token })).status).toBe(204);
  });

  it('touches only the caller’s account', async () => {
    h.proxy.accounts.replace([
      { name: 'default', token: h.fake.token, appSecrets: [] },
      { name: 'acme', token: 'acme-token', appSecrets: [] },
    ]);
    expect((await erase({ media: '*', scope: 'media:delete', acct: 'acme' })).status).toBe(204);
    expect(await store.get(key)).toBeDefined();
    expect(h.proxy.memory.entries).toBe(1);
  });

  it('lists DELETE among the allowed methods', async () => {
    const res = await h.get(`/media/${ID}`, { method: 'PUT' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD, DELETE');
  });
});
