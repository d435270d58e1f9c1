/**
 * `npm run demo` without a browser: the page links every sample through the real proxy process, and
 * each link answers the sample's bytes. The browser suite (test/browser) checks what Chromium makes
 * of them.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES, SAMPLES_DIR } from '../../demo/samples.js';
import { startDemo, type Demo } from '../../demo/start-demo.js';
import { proxyLogSoFar } from '../support/proxy-log.js';

let demo: Demo;
beforeAll(async () => {
  demo = await startDemo();
});
afterAll(async () => {
  await demo?.stop();
});

/** The top-level box types of an ISO BMFF (MP4) file, in file order. */
function topLevelBoxes(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: string[] = [];
  for (let offset = 0; offset + 8 <= bytes.byteLength; ) {
    let size = view.getUint32(offset);
    types.push(new TextDecoder().decode(bytes.subarray(offset + 4, offset + 8)));
    if (size === 1) size = Number(view.getBigUint64(offset + 8));
    if (size < 8) break;
    offset += size;
  }
  return types;
}

describe('the demo', () => {
  it('has a sample video whose moov atom comes after mdat, so playing it needs Range', async () => {
    const boxes = topLevelBoxes(await readFile(join(SAMPLES_DIR, 'video.mp4')));
    expect(boxes).toContain('mdat');
    expect(boxes.indexOf('moov')).toBeGreaterThan(boxes.indexOf('mdat'));
  });

  it('serves a page linking every sample through the proxy, each link answering the sample itself', async () => {
    const page = await fetch(demo.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    const hrefs = [...html.matchAll(/(?:src|href)="([^"]+\/media\/(\d+)\?token=[^"]+)"/g)];
    expect(hrefs.map((m) => m[2]).sort()).toEqual(SAMPLES.map((s) => s.id).sort());
    for (const [, url, id] of hrefs) {
      const sample = SAMPLES.find((s) => s.id === id)!;
      const answer = await fetch(url!.replaceAll('&amp;', '&'));
      expect(answer.status, sample.file).toBe(200);
      expect(Buffer.from(await answer.arrayBuffer()).equals(await readFile(join(SAMPLES_DIR, sample.file))), sample.file).toBe(true);
    }
  });

  it('keeps what the proxy fetched in the directory store under its temporary folder', async () => {
    const storeDir = join(demo.dataDir, 'store');
    // Every sample was fetched by the test before; the store writes them after answering.
    const storedBytes = () =>
      readdirSync(storeDir, { recursive: true, encoding: 'utf8' })
        .map((name) => statSync(join(storeDir, name)))
        .filter((entry) => entry.isFile())
        .reduce((sum, entry) => sum + entry.size, 0);
    const photo = await readFile(join(SAMPLES_DIR, 'photo.jpg'));
    for (let i = 0; i < 100 && storedBytes() < photo.byteLength; i++) await new Promise((r) => setTimeout(r, 20));
    expect(storedBytes()).toBeGreaterThanOrEqual(photo.byteLength);
  });

  it('receives a new message: the demo server posts a signed delivery, and the proxy stores the photo before anyone views it', async () => {
    const received = await fetch(new URL('messages', demo.url), { method: 'POST' });
    expect(received.status).toBe(200);
    const text = await received.text();
    expect(text).not.toContain(demo.appSecret);
    const { id, bubble, ingested } = JSON.parse(text) as { id: string; bubble: string; ingested: unknown };
    expect(SAMPLES.map((s) => s.id)).not.toContain(id);
    expect(ingested).toEqual({ graphLookups: 1, cdnDownloads: 1 });
    expect(existsSync(join(demo.dataDir, 'store', 'default', id))).toBe(true);
    expect((await proxyLogSoFar(demo)).filter((l) => l.msg === 'request' && l.path === `/media/${id}`)).toEqual([]);

    const link = /<img data-media-id="(\d+)" src="([^"]+)"/.exec(bubble);
    expect(link?.[1]).toBe(id);
    const photo = await fetch(link![2]!.replaceAll('&amp;', '&'));
    expect(photo.status).toBe(200);
    expect(Buffer.from(await photo.arrayBuffer()).equals(await readFile(join(SAMPLES_DIR, 'photo.jpg')))).toBe(true);

    const view = await fetch(new URL(`messages/${id}/view`, demo.url));
    expect(view.status).toBe(200);
    const report = (await view.json()) as { cache: string; requests: number; now: unknown; summary: string };
    expect(report).toMatchObject({ status: 200, cache: expect.stringMatching(/^hit:/), requests: 1, now: { graphLookups: 1, cdnDownloads: 1 } });
    expect(report.summary).toContain('no Graph lookup and no CDN download at view time');
  });

  it('refuses to receive a message when another site\'s page asks', async () => {
    const deliveries = async () =>
      (await proxyLogSoFar(demo)).filter((l) => l.msg === 'request' && l.path === '/webhooks/whatsapp').length;
    const [deliveriesBefore, lookupsBefore] = [await deliveries(), demo.fake.count('graph')];
    const refused = await fetch(new URL('messages', demo.url), { method: 'POST', headers: { origin: 'http://elsewhere.example' } });
    expect(refused.status).toBe(403);
    expect(await deliveries()).toBe(deliveriesBefore);
    expect(demo.fake.count('graph')).toBe(lookupsBefore);
    expect((await fetch(new URL('messages/1000000000000001/view', demo.url))).status).toBe(404);
  });

  it('stops the proxy and removes its temporary data when stopped', async () => {
    const other = await startDemo();
    expect(existsSync(other.dataDir)).toBe(true);
    await other.stop();
    expect(await other.proxy.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(other.dataDir)).toBe(false);
    await expect(fetch(other.url)).rejects.toThrow();
  });
});
