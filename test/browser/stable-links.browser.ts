/**
 * Links the browser can cache (issue 15), in Chromium against the demo: the demo page mints its links
 * with mediaUrl and a window, so rendering it twice within one window gives the same URLs and the
 * browser's cache answers the photo without asking the proxy; links minted in the next window are new
 * URLs, so they reach the proxy, which answers them from its memory or store, not from Graph.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleNamed } from '../../demo/samples.js';
import { LINK_WINDOW_SECONDS, startDemo, type Demo } from '../../demo/start-demo.js';
import { launchChromium } from './chromium.js';
import { proxyLogSoFar } from '../support/proxy-log.js';

const photo = sampleNamed('photo.jpg');
const video = sampleNamed('video.mp4');

let demo: Demo;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  demo = await startDemo();
  browser = await launchChromium();
  // One context: one browser cache for the three renders.
  page = await (await browser.newContext()).newPage();
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** Requests for `id` the proxy has logged, counted once every earlier request's line is in. */
async function proxyRequestsFor(id: string): Promise<number> {
  return (await proxyLogSoFar(demo)).filter((l) => l.msg === 'request' && l.path === `/media/${id}`).length;
}

/** Renders the demo page with links minted at `at` (ms), waits for the photo and the video's metadata, and returns their URLs. */
async function render(at: number): Promise<{ photo: string; video: string }> {
  await page.goto(`${demo.url}?at=${at}`);
  return page.evaluate(
    async ([photoId, videoId]) => {
      const img = document.querySelector<HTMLImageElement>(`img[data-media-id="${photoId}"]`)!;
      const vid = document.querySelector<HTMLVideoElement>(`video[data-media-id="${videoId}"]`)!;
      await img.decode();
      if (vid.readyState < HTMLMediaElement.HAVE_METADATA) await new Promise((done) => vid.addEventListener('loadedmetadata', done, { once: true }));
      return { photo: img.currentSrc, video: vid.currentSrc };
    },
    [photo.id, video.id] as const,
  );
}

describe('links minted with a window, in Chromium', () => {
  const windowMs = LINK_WINDOW_SECONDS * 1000;
  const windowStart = Math.floor(Date.now() / windowMs) * windowMs;

  it('renders the same URLs twice in one window, and the second time the photo comes from the browser cache', async () => {
    const first = await render(windowStart + 1000);
    const afterFirst = await proxyRequestsFor(photo.id);
    expect(afterFirst).toBeGreaterThan(0);
    const second = await render(windowStart + windowMs - 1000);
    expect(second).toEqual(first);
    expect(await proxyRequestsFor(photo.id)).toBe(afterFirst);
  });

  it('renders new URLs in the next window, which reach the proxy and are answered from its cache, not from Graph', async () => {
    const before = await render(windowStart + 2000);
    const photoRequests = await proxyRequestsFor(photo.id);
    const graphLookups = demo.fake.count('graph');
    const next = await render(windowStart + windowMs + 1000);
    expect(next.photo).not.toBe(before.photo);
    expect(next.video).not.toBe(before.video);
    expect(await proxyRequestsFor(photo.id)).toBe(photoRequests + 1);
    const answer = demo.proxy.lines.filter((l) => l.msg === 'request' && l.path === `/media/${photo.id}`).at(-1);
    expect(answer).toMatchObject({ status: 200, cache: expect.stringMatching(/^hit:/) });
    const videoAnswers = demo.proxy.lines.filter((l) => l.msg === 'request' && l.path === `/media/${video.id}`);
    expect(videoAnswers.length).toBeGreaterThan(0);
    expect(demo.fake.count('graph')).toBe(graphLookups);
  });
});
