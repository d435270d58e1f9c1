/**
 * The directory store across a restart of the real entrypoint: a proxy stores a small and a large
 * file under the default STORE_URL (data/media in its working directory) and stops; Meta forgets both
 * ids; a new proxy on the same directory answers everything from the store.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOf, killChildProxies, startChildProxy, type ChildProxy } from '../support/child-proxy.js';
import { FakeWhatsApp, makeBytes } from '../support/fake-whatsapp.js';
import { eventually } from '../support/eventually.js';

const SMALL_ID = '1100000001';
const LARGE_ID = '1100000002';
const small = makeBytes(200_000, 21);
// Above CACHE_MAX_ITEM_BYTES: never held in memory, always read from the store.
const large = makeBytes(2_500_000, 22);
const env = { CACHE_MAX_ITEM_BYTES: '1000000' };

let fake: FakeWhatsApp;
let cwd: string;
let root: string;
let first: ChildProxy;
let restarted: ChildProxy;
const etags = new Map<string, string>();
let upstreamAtRestart: { graph: number; cdn: number };

const files = [
  { id: SMALL_ID, bytes: small, mimeType: 'image/jpeg' },
  { id: LARGE_ID, bytes: large, mimeType: 'video/mp4' },
];

beforeAll(async () => {
  fake = await new FakeWhatsApp().start();
  for (const f of files) fake.addMedia(f.id, { bytes: f.bytes, mimeType: f.mimeType });
  cwd = mkdtempSync(join(tmpdir(), 'wmp-restart-'));
  root = join(cwd, 'data', 'media');

  first = await startChildProxy(fake, cwd, env);
  for (const f of files) {
    const res = await first.request(`/media/${f.id}`);
    expect(res.status).toBe(200);
    expect((await bodyOf(res)).equals(f.bytes)).toBe(true);
    etags.set(f.id, res.headers.get('etag')!);
  }
  await eventually(() => files.every((f) => existsSync(join(root, 'default', f.id))), 'both files stored');
  await first.stop('SIGTERM');

  for (const f of files) fake.deleteMedia(f.id);
  restarted = await startChildProxy(fake, cwd, env);
  upstreamAtRestart = { graph: fake.count('graph'), cdn: fake.count('cdn') };
}, 60_000);

afterAll(async () => {
  killChildProxies();
  await fake.stop();
  rmSync(cwd, { recursive: true, force: true });
});

/** Everything after the restart came from the store: Graph and the CDN saw nothing more. */
function expectNoUpstream(): void {
  expect({ graph: fake.count('graph'), cdn: fake.count('cdn') }).toEqual(upstreamAtRestart);
}

describe('the directory store across a restart, after Meta forgot the ids', () => {
  it('serves the same bytes, type and ETag for a small and a large file', async () => {
    expect(fake.count('graph')).toBeGreaterThan(0); // the first proxy did ask
    for (const f of files) {
      const res = await restarted.request(`/media/${f.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(f.mimeType);
      expect(res.headers.get('etag')).toBe(etags.get(f.id));
      expect((await bodyOf(res)).equals(f.bytes)).toBe(true);
      expect(restarted.requestLines(f.id)[0]).toMatchObject({ status: 200, cache: 'hit:store' });
    }
    expectNoUpstream();
  });

  it('answers HEAD, 304, a range (206) and an unsatisfiable range (416) from the store', async () => {
    for (const f of files) {
      const path = `/media/${f.id}`;
      const head = await restarted.request(path, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(f.bytes.byteLength));

      const notModified = await restarted.request(path, { headers: { 'if-none-match': etags.get(f.id)! } });
      expect(notModified.status).toBe(304);
      expect((await bodyOf(notModified)).byteLength).toBe(0);

      const partial = await restarted.request(path, { headers: { range: 'bytes=150000-150999' } });
      expect(partial.status).toBe(206);
      expect(partial.headers.get('content-range')).toBe(`bytes 150000-150999/${f.bytes.byteLength}`);
      expect((await bodyOf(partial)).equals(f.bytes.subarray(150_000, 151_000))).toBe(true);

      const suffix = await restarted.request(path, { headers: { range: 'bytes=-10' } });
      expect(suffix.status).toBe(206);
      expect((await bodyOf(suffix)).equals(f.bytes.subarray(-10))).toBe(true);

      const unsatisfiable = await restarted.request(path, { headers: { range: `bytes=${f.bytes.byteLength}-` } });
      expect(unsatisfiable.status).toBe(416);
      expect(unsatisfiable.headers.get('content-range')).toBe(`bytes */${f.bytes.byteLength}`);
    }
    expectNoUpstream();
  });

  it('copies a small file found in the store into memory; a large one is read from the store each time', async () => {
    await bodyOf(await restarted.request(`/media/${SMALL_ID}`));
    await bodyOf(await restarted.request(`/media/${LARGE_ID}`));
    const outcomes = (id: string) => restarted.requestLines(id).filter((l) => l.status === 200 || l.status === 206).map((l) => l.cache);
    expect(outcomes(SMALL_ID)[0]).toBe('hit:store');
    expect(outcomes(SMALL_ID).slice(1)).toEqual(outcomes(SMALL_ID).slice(1).map(() => 'hit:memory'));
    expect(outcomes(SMALL_ID).length).toBeGreaterThan(2);
    expect(new Set(outcomes(LARGE_ID))).toEqual(new Set(['hit:store']));
    expectNoUpstream();
  });

  it('reads only the asked range of a stored file, not the whole file', async () => {
    const before = restarted.bytesRead();
    const partial = await restarted.request(`/media/${LARGE_ID}`, { headers: { range: 'bytes=2000000-2000999' } });
    expect((await bodyOf(partial)).equals(large.subarray(2_000_000, 2_001_000))).toBe(true);
    const forRange = restarted.bytesRead() - before;
    // The control: the same counter sees a full read of the file.
    const full = await restarted.request(`/media/${LARGE_ID}`);
    expect((await bodyOf(full)).equals(large)).toBe(true);
    const forFull = restarted.bytesRead() - before - forRange;
    expect(forFull).toBeGreaterThanOrEqual(large.byteLength);
    expect(forRange).toBeLessThan(100_000);
    expectNoUpstream();
  });

  it('says at start that a directory store is in use and how full it is, never its path', () => {
    const onDisk = files.reduce((sum, f) => sum + statSync(join(root, 'default', f.id)).size, 0);
    const startLine = (p: ChildProxy) => p.lines.find((l) => String(l.msg).startsWith('listening'))!;
    expect(startLine(first)).toMatchObject({ store: 'directory', bytes: 0, entries: 0, maxBytes: 5_368_709_120 });
    expect(startLine(restarted)).toMatchObject({ store: 'directory', bytes: onDisk, entries: 2, maxBytes: 5_368_709_120 });
    for (const p of [first, restarted]) {
      const all = JSON.stringify(p.lines);
      expect(all).not.toContain(cwd);
      expect(all).not.toContain('data/media');
      expect(all).not.toContain(fake.token);
    }
  });

  it('shows the store kind and fill on /healthz', async () => {
    const health = (await (await fetch(`${restarted.url()}/healthz`)).json()) as Record<string, unknown>;
    const onDisk = files.reduce((sum, f) => sum + statSync(join(root, 'default', f.id)).size, 0);
    expect(health.store).toEqual({ kind: 'directory', bytes: onDisk, entries: 2, maxBytes: 5_368_709_120 });
  });

  // Last: it breaks the store of the restarted proxy.
  it('serves from upstream when the store fails, logs a warning and counts the failed write', async () => {
    const id = '1100000003';
    const bytes = makeBytes(300_000, 23);
    fake.addMedia(id, { bytes, mimeType: 'image/png' });
    // As root no permission stops a write; a regular file where the temporary directory was does.
    const tempDir = join(root, '.tmp');
    renameSync(tempDir, `${tempDir}-moved`);
    writeFileSync(tempDir, 'not a directory');

    const res = await restarted.request(`/media/${id}`);
    expect(res.status).toBe(200);
    expect((await bodyOf(res)).equals(bytes)).toBe(true);
    await eventually(() => restarted.lines.some((l) => l.level === 'warn' && l.tier === 'store'), 'the store failure logged');
    expect(restarted.lines.find((l) => l.level === 'warn' && l.tier === 'store')).toMatchObject({ mediaId: id, msg: 'a tier could not keep its copy; serving on' });
    const metrics = await (await fetch(`${restarted.url()}/metrics`)).text();
    expect(metrics).toContain('whatsapp_media_proxy_store_writes_total{outcome="failed"} 1');
    expect(existsSync(join(root, 'default', id))).toBe(false);
    // The copy in memory was still taken: the next request is a memory hit.
    await bodyOf(await restarted.request(`/media/${id}`));
    expect(restarted.requestLines(id).map((l) => l.cache)).toEqual(['miss', 'hit:memory']);
    expect(restarted.lines.filter((l) => l.level === 'error')).toEqual([]);
    // The failure is logged by its code, without the store's path.
    expect(JSON.stringify(restarted.lines)).not.toContain(cwd);
    expect(restarted.lines.find((l) => l.tier === 'store')?.error).toMatchObject({ code: 'ENOTDIR' });
  });
});
