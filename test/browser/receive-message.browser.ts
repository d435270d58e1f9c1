/**
 * The demo's "receive a new message" button in Chromium (issue 14 on top of issue 12's ingestion): the
 * demo's server signs a webhook delivery for a new photo and posts it to the proxy, which downloads it
 * into its store; the page then shows the photo through the proxy, and that view costs no Graph lookup
 * and no CDN download, because the ingestion did both before. The page never sees the app secret.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES } from '../../demo/samples.js';
import { startDemo, type Demo } from '../../demo/start-demo.js';
import { launchChromium } from './chromium.js';
import { proxyLogSoFar } from '../support/proxy-log.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../artifacts');

let demo: Demo;
let browser: Browser;
let page: Page;
/** Every URL the page requested and every body it was answered, to look for the app secret. */
const requested: string[] = [];
const answered: Array<Promise<string>> = [];

beforeAll(async () => {
  demo = await startDemo();
  browser = await launchChromium();
  page = await (await browser.newContext()).newPage();
  page.on('request', (request) => requested.push(request.url()));
  page.on('response', (response) => {
    const type = response.headers()['content-type'] ?? '';
    if (/json|html|text/.test(type)) answered.push(response.text().catch(() => ''));
  });
  await page.goto(demo.url);
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

interface Shown {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly cache: string | undefined;
  readonly summary: string;
}

/** Clicks the button and waits for the new bubble to be shown, with its caption, and for the proxy's log of it. */
async function receive(): Promise<Shown> {
  const before = await page.locator('figure[data-state="shown"]').count();
  await page.getByRole('button', { name: 'Receive a new message' }).click();
  const figure = page.locator('figure[data-state="shown"]').nth(before);
  await figure.waitFor({ timeout: 20_000 });
  const shown = await figure.evaluate(async (element: HTMLElement): Promise<Shown> => {
    const img = element.querySelector('img')!;
    await img.decode();
    return {
      id: img.dataset.mediaId!,
      width: img.naturalWidth,
      height: img.naturalHeight,
      cache: element.dataset.cache,
      summary: element.querySelector('.provenance')!.textContent ?? '',
    };
  });
  await proxyLogSoFar(demo);
  return shown;
}

function viewsOf(id: string): Array<Record<string, unknown>> {
  return demo.proxy.lines.filter((line) => line.msg === 'request' && line.path === `/media/${id}`);
}

describe('the "receive a new message" button, in Chromium', () => {
  let first: Shown;
  beforeAll(async () => {
    first = await receive();
  });

  it('shows a photo that was not on the page, under a new media id, and it decodes', () => {
    expect(SAMPLES.map((s) => s.id)).not.toContain(first.id);
    expect(first.width).toBeGreaterThan(0);
    expect(first.height).toBeGreaterThan(0);
  });

  it('came in through the signed webhook: the proxy accepted a delivery and ingested the id, once', () => {
    const webhooks = demo.proxy.lines.filter((line) => line.msg === 'request' && line.path === '/webhooks/whatsapp');
    expect(webhooks.map((line) => line.status)).toEqual([200]);
    expect(demo.proxy.lines.filter((line) => line.msg === 'webhook delivery accepted')).toHaveLength(1);
    // The ingestion, not the view, asked Graph and downloaded it: one lookup and one download in all.
    expect(demo.fake.count('graph', first.id)).toBe(1);
    expect(demo.fake.count('cdn', first.id)).toBe(1);
  });

  it('was answered by the proxy from its cache tiers at view time, with no Graph lookup and no CDN download', () => {
    const views = viewsOf(first.id);
    expect(views).toHaveLength(1);
    expect(views[0]).toMatchObject({ method: 'GET', status: 200, cache: expect.stringMatching(/^hit:(memory|store)$/) });
    // What the page says is what the proxy logged, and the counts it shows did not move at view time.
    expect(first.cache).toBe(views[0]!.cache);
    expect(first.summary).toContain('no Graph lookup and no CDN download at view time');
    expect(first.summary).toContain('Graph lookups 1 → 1, CDN downloads 1 → 1');
  });

  it('receives another message under another id, each ingested once', async () => {
    const second = await receive();
    expect(second.id).not.toBe(first.id);
    expect(second.width).toBeGreaterThan(0);
    expect(viewsOf(second.id)[0]).toMatchObject({ status: 200, cache: expect.stringMatching(/^hit:/) });
    expect([demo.fake.count('graph', second.id), demo.fake.count('cdn', second.id)]).toEqual([1, 1]);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'demo-received.png'), fullPage: true });
  });

  it('never gave the browser the app secret, nor had it post to the webhook', async () => {
    expect(requested.some((url) => new URL(url).pathname.startsWith('/webhooks'))).toBe(false);
    const bodies = await Promise.all(answered);
    expect(bodies.length).toBeGreaterThan(2);
    for (const body of [...bodies, await page.content()]) expect(body).not.toContain(demo.appSecret);
  });
});
