/**
 * The demo page in headless Chromium: what a real browser makes of what the proxy serves. Photos
 * decode, the moov-at-the-end video plays and seeks through Range requests that are answered 206 with
 * the right Content-Range, the voice note knows its duration, and documents carrying script (SVG,
 * HTML) run none of it when opened as top-level pages.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSample, sampleNamed, type Sample } from '../../demo/samples.js';
import { startDemo, type Demo } from '../../demo/start-demo.js';
import { launchChromium } from './chromium.js';
import { startControlServer, type ControlServer } from './control-server.js';
import { openAndWatch, SCRIPT_MARK } from './script-detector.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../artifacts');

interface SeenResponse {
  readonly mediaId: string;
  readonly status: number;
  readonly range: string | undefined;
  readonly contentRange: string | undefined;
}

let demo: Demo;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let control: ControlServer;
const responses: Array<Promise<SeenResponse | undefined>> = [];

beforeAll(async () => {
  demo = await startDemo();
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
  page.on('response', (response) => {
    responses.push(
      (async () => {
        const url = new URL(response.url());
        const match = /^\/media\/(\d+)$/.exec(url.pathname);
        if (url.origin !== demo.proxyUrl || match === null) return undefined;
        const headers = await response.request().allHeaders();
        return { mediaId: match[1]!, status: response.status(), range: headers.range, contentRange: response.headers()['content-range'] };
      })(),
    );
  });
  // A phone's bandwidth (2 Mbit/s) rather than loopback's: at loopback speed Chromium reads this small
  // file whole with its first request and never has to ask for the moov atom at the end.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: 256 * 1024, uploadThroughput: 256 * 1024 });
  await page.goto(demo.url);
});

afterAll(async () => {
  await browser?.close();
  await control?.close();
  await demo?.stop();
});

async function mediaResponses(sample: Sample): Promise<SeenResponse[]> {
  return (await Promise.all(responses)).filter((r): r is SeenResponse => r?.mediaId === sample.id);
}

describe('the demo page in Chromium', () => {
  it.each(['photo.jpg', 'sticker.webp'])('decodes the %s shown in an <img>', async (file) => {
    const { id } = sampleNamed(file);
    const size = await page.locator(`img[data-media-id="${id}"]`).evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      return { width: img.naturalWidth, height: img.naturalHeight };
    });
    expect(size.width).toBeGreaterThan(0);
    expect(size.height).toBeGreaterThan(0);
  });

  it('plays the video (moov at the end): metadata, a seek to 60 % and a painted frame there', async () => {
    const { id } = sampleNamed('video.mp4');
    const result = await page.locator(`video[data-media-id="${id}"]`).evaluate(async (video: HTMLVideoElement) => {
      const once = (event: string) =>
        new Promise<void>((done, fail) => {
          video.addEventListener(event, () => done(), { once: true });
          video.addEventListener('error', () => fail(new Error(`video error ${video.error?.code}: ${video.error?.message}`)), { once: true });
        });
      if (video.readyState < HTMLMediaElement.HAVE_METADATA) await once('loadedmetadata');
      const canvas = document.createElement('canvas');
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      const context2d = canvas.getContext('2d', { willReadFrequently: true })!;
      const frame = () => {
        context2d.drawImage(video, 0, 0);
        return context2d.getImageData(0, 0, canvas.width, canvas.height).data;
      };
      const seek = async (time: number) => {
        const seeked = once('seeked');
        video.currentTime = time;
        await seeked;
        if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) await once('loadeddata');
      };
      await seek(0);
      const first = frame();
      await seek(video.duration * 0.6);
      const later = frame();
      let lit = 0;
      let changed = 0;
      const colours = new Set<number>();
      for (let i = 0; i < later.length; i += 4) {
        const [r, g, b] = [later[i]!, later[i + 1]!, later[i + 2]!];
        if (r + g + b > 90) lit++;
        colours.add(((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4));
        if (Math.abs(r - first[i]!) + Math.abs(g - first[i + 1]!) + Math.abs(b - first[i + 2]!) > 30) changed++;
      }
      const pixels = later.length / 4;
      return { duration: video.duration, currentTime: video.currentTime, width: canvas.width, litShare: lit / pixels, colours: colours.size, changedShare: changed / pixels };
    });
    expect(result.duration).toBeCloseTo(6, 0);
    expect(result.currentTime).toBeCloseTo(result.duration * 0.6, 1);
    expect(result.width).toBe(640);
    // The test pattern at 60 %: mostly bright, many colours, and moved on from the first frame.
    expect(result.litShare).toBeGreaterThan(0.5);
    expect(result.colours).toBeGreaterThan(50);
    expect(result.changedShare).toBeGreaterThan(0.01);

    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });
  });

  it('knows the voice note duration', async () => {
    const { id } = sampleNamed('voice.ogg');
    const duration = await page.locator(`audio[data-media-id="${id}"]`).evaluate(async (audio: HTMLAudioElement) => {
      if (audio.readyState < HTMLMediaElement.HAVE_METADATA) {
        await new Promise<void>((done, fail) => {
          audio.addEventListener('loadedmetadata', () => done(), { once: true });
          audio.addEventListener('error', () => fail(new Error(`audio error ${audio.error?.code}`)), { once: true });
        });
      }
      return audio.duration;
    });
    expect(Number.isFinite(duration)).toBe(true);
    expect(duration).toBeGreaterThan(3);
  });

  it('got 206 with the right Content-Range for every Range request it made, the video index at the end among them', async () => {
    for (const file of ['video.mp4', 'voice.ogg']) {
      const sample = sampleNamed(file);
      const size = (await readSample(sample)).byteLength;
      const ranged = (await mediaResponses(sample)).filter((r) => r.range !== undefined);
      expect(ranged.length, file).toBeGreaterThan(0);
      for (const response of ranged) {
        const [, start = '', end = ''] = /^bytes=(\d+)-(\d*)$/.exec(response.range!) ?? [];
        expect(start, `${file}: a Range Chromium sends, got ${response.range}`).not.toBe('');
        const last = end === '' ? size - 1 : Math.min(Number(end), size - 1);
        expect(response, file).toMatchObject({ status: 206, contentRange: `bytes ${start}-${last}/${size}` });
      }
      if (file === 'video.mp4') {
        // moov sits after mdat: Chromium must ask for a range that starts past the beginning.
        expect(ranged.some((r) => !r.range!.startsWith('bytes=0-'))).toBe(true);
      }
    }
  });
});

describe.each(['drawing.svg', 'page.html'])('the %s document (it carries a script)', (file) => {
  const sample = sampleNamed(file);
  const extension = file.split('.')[1]!;
  let href: string;
  beforeAll(async () => {
    href = await page.locator(`a[data-media-id="${sample.id}"]`).evaluate((a: HTMLAnchorElement) => a.href);
    control ??= await startControlServer();
  });

  it('runs its script when served plainly (the control: the detector sees a script that runs)', async () => {
    const seen = await openAndWatch(browser, await control.serve(sample, { 'content-type': sample.mimeType }));
    expect(seen.title).toBe(SCRIPT_MARK);
    expect(seen.console).toContain(`sample script ran: ${extension}`);
    expect(seen.storage).toBe(extension);
    expect(seen.cookies).toEqual([`sample_script_ran=${extension}`]);
  });

  it('runs no script when opened as a top-level page through the proxy (it is a download)', async () => {
    // Afterwards the proxy's own origin is inspected (from /healthz): no storage, no cookie.
    const seen = await openAndWatch(browser, href, { origin: demo.proxyUrl, path: '/healthz' });
    expect(seen.download).toBe(`${sample.id}.${extension}`);
    expect(seen.title).not.toBe(SCRIPT_MARK);
    expect(seen.console.filter((line) => line.startsWith('sample script ran'))).toEqual([]);
    expect(seen.originStorage).toBeNull();
    expect(seen.cookies).toEqual([]);
  });

  it('runs no script even shown inline with the proxy\'s other headers (its CSP sandbox alone stops it)', async () => {
    const proxied = await fetch(href);
    expect(proxied.status).toBe(200);
    const headers = Object.fromEntries([...proxied.headers].filter(([name]) => !['content-disposition', 'connection', 'keep-alive', 'transfer-encoding', 'date'].includes(name)));
    expect(headers['content-security-policy']).toBeDefined();
    const seen = await openAndWatch(browser, await control.serve(sample, headers));
    expect(seen.download).toBeUndefined();
    // It was shown (its own title), and its script did not run.
    expect(seen.title).toBe(file === 'drawing.svg' ? 'drawing' : 'page');
    expect(seen.console.filter((line) => line.startsWith('sample script ran'))).toEqual([]);
    expect(seen.cookies).toEqual([]);
  });
});
