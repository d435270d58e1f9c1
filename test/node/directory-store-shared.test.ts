/**
 * Two proxy processes on one store directory (one box, two instances): each serves what the other
 * stored, and one evicting a file the other still knows is a miss for the other, answered upstream.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, killChildProxies, startChildProxy, type ChildProxy } from '../support/child-proxy.js';
import { FakeWhatsApp, makeBytes } from '../support/fake-whatsapp.js';
import { eventually } from '../support/eventually.js';

const FIRST_ID = '3300000001';
const SECOND_ID = '3300000002';
const firstBytes = makeBytes(1_000_000, 41);
const secondBytes = makeBytes(1_000_000, 42);

let fake: FakeWhatsApp;
let cwd: string;
let root: string;
let one: ChildProxy;
let other: ChildProxy;

beforeAll(async () => {
  fake = await new FakeWhatsApp().start();
  fake.addMedia(FIRST_ID, { bytes: firstBytes, mimeType: 'video/mp4' }).addMedia(SECOND_ID, { bytes: secondBytes, mimeType: 'video/mp4' });
  cwd = mkdtempSync(join(tmpdir(), 'wmp-shared-'));
  root = join(cwd, 'shared-media');
  const env = {
    STORE_URL: `file:${root}`,
    // Room for one of the two files: storing the second evicts the first.
    STORE_MAX_BYTES: '1600000',
    // Nothing held in memory: every hit reads the directory.
    CACHE_MAX_ITEM_BYTES: '100000',
  };
  [one, other] = await Promise.all([startChildProxy(fake, cwd, env), startChildProxy(fake, cwd, env)]);
}, 60_000);
afterAll(async () => {
  killChildProxies();
  await fake.stop();
  rmSync(cwd, { recursive: true, force: true });
});

describe('two proxy processes on one store directory', () => {
  it('serves from the store a file the other process stored, asking Graph and the CDN nothing', async () => {
    const stored = await one.request(`/media/${FIRST_ID}`);
    expect((await bodyOf(stored)).equals(firstBytes)).toBe(true);
    await eventually(() => existsSync(join(root, 'default', FIRST_ID)), 'the first file stored');
    const upstream = { graph: fake.count('graph', FIRST_ID), cdn: fake.count('cdn', FIRST_ID) };

    const res = await other.request(`/media/${FIRST_ID}`);
    expect(res.status).toBe(200);
    expect((await bodyOf(res)).equals(firstBytes)).toBe(true);
    expect(other.requestLines(FIRST_ID)).toMatchObject([{ status: 200, cache: 'hit:store' }]);
    expect({ graph: fake.count('graph', FIRST_ID), cdn: fake.count('cdn', FIRST_ID) }).toEqual(upstream);
  });

  it('when one process evicts a file, the other, which still knew it, serves it from upstream', async () => {
    const stored = await one.request(`/media/${SECOND_ID}`);
    expect((await bodyOf(stored)).equals(secondBytes)).toBe(true);
    await eventually(() => existsSync(join(root, 'default', SECOND_ID)), 'the second file stored');
    await eventually(() => !existsSync(join(root, 'default', FIRST_ID)), 'the first file evicted');
    const cdnBefore = fake.count('cdn', FIRST_ID);

    const res = await other.request(`/media/${FIRST_ID}`);
    expect(res.status).toBe(200);
    expect((await bodyOf(res)).equals(firstBytes)).toBe(true);
    expect(other.requestLines(FIRST_ID).map((l) => l.cache)).toEqual(['hit:store', 'miss']);
    expect(fake.count('cdn', FIRST_ID)).toBe(cdnBefore + 1);
    for (const proxy of [one, other]) expect(proxy.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});
