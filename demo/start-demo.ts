/**
 * Everything `npm run demo` runs, as one start/stop pair (the browser suite starts the same):
 * the tests' fake Graph + CDN loaded with the samples, the real proxy entrypoint in a child process
 * with the directory store in a temporary folder, and the demo page on its own loopback port.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaUrl } from '../src/auth/media-url.js';
import { FakeWhatsApp } from '../test/support/fake-whatsapp.js';
import { startProxyProcess, type ProxyProcess } from '../test/support/proxy-process.js';
import { describeView, renderBubble, renderDemoPage, type PageItem } from './demo-page.js';
import { createReceiver, type Receiver } from './receive-message.js';
import { readSample, SAMPLES, type Sample } from './samples.js';

/** Caller tokens on the page live an hour: long enough to watch the video, short as a chat's would be. */
const LINK_TTL_SECONDS = 3600;
/**
 * Links are minted per id and aligned to this window (mediaUrl), as the README recommends: every page
 * view within one window gets the same URLs, so the browser's cache answers media it already has.
 */
export const LINK_WINDOW_SECONDS = 3600;
const STOP_TIMEOUT_MS = 5000;

export interface Demo {
  /** The demo page. */
  readonly url: string;
  /** The proxy's base URL. */
  readonly proxyUrl: string;
  readonly fake: FakeWhatsApp;
  readonly proxy: ProxyProcess;
  /** The temporary folder (the proxy's working directory and store), removed by stop(). */
  readonly dataDir: string;
  /** The proxy's JWT_SECRET, random per run. */
  readonly secret: string;
  /** The proxy's WHATSAPP_APP_SECRET, random per run: only the demo's server signs with it. */
  readonly appSecret: string;
  /** One link per sample, as the page shows them; minted at `now` (ms, default: the clock). */
  links(now?: number): Promise<PageItem[]>;
  /** Stops the proxy, the page and the fake, and removes the temporary data. */
  stop(): Promise<void>;
}

export async function startDemo(): Promise<Demo> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const dataDir = await mkdtemp(join(tmpdir(), 'wmp-demo-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const storeDir = join(dataDir, 'store');
    await mkdir(storeDir);

    const fake = await new FakeWhatsApp().start();
    cleanups.push(() => fake.stop());
    for (const sample of SAMPLES) fake.addMedia(sample.id, { bytes: await readSample(sample), mimeType: sample.mimeType });

    const secret = randomBytes(32).toString('hex');
    const appSecret = randomBytes(32).toString('hex');
    let proxyUrl = '';
    let receiver: Receiver | undefined;
    const linkTo = async (sample: Sample, now = Date.now()): Promise<PageItem> => {
      const url = await mediaUrl({ baseUrl: proxyUrl, secret, id: sample.id, ttlSeconds: LINK_TTL_SECONDS, windowSeconds: LINK_WINDOW_SECONDS, now });
      return { sample, url };
    };
    const links = (now = Date.now()) => Promise.all(SAMPLES.map((sample) => linkTo(sample, now)));

    // The page listens first: the proxy needs its origin for CORS_ORIGINS.
    const page = createServer((req, res) => {
      answerPage(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    await listen(page);
    cleanups.push(() => close(page));
    const url = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;

    /**
     * `GET /` the page; `/?at=<ms>` mints the links as at that moment instead of now: what a page view
     * in another window gets (the browser suite uses it to cross a window boundary without waiting an
     * hour). `POST /messages` receives a new photo (demo/receive-message.ts) and answers its bubble;
     * `GET /messages/<id>/view` how the proxy answered the page's view of it.
     */
    async function answerPage(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const requested = new URL(req.url ?? '/', 'http://x');
      const at = requested.searchParams.get('at');
      const viewed = /^\/messages\/(\d{1,32})\/view$/.exec(requested.pathname)?.[1];
      if (req.method === 'GET' && requested.pathname === '/' && (at === null || /^\d{1,15}$/.test(at))) {
        const items = await links(at === null ? undefined : Number(at));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(renderDemoPage(items, proxyUrl));
      } else if (req.method === 'POST' && requested.pathname === '/messages' && receiver !== undefined) {
        // Another site's page must not make this server post webhooks: browsers send Origin on a POST.
        if (req.headers.origin !== undefined && req.headers.origin !== new URL(url).origin) return void res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden');
        const { sample, ingested } = await receiver.receive();
        answerJson(res, { id: sample.id, bubble: renderBubble(await linkTo(sample)), ingested });
      } else if (req.method === 'GET' && viewed !== undefined && receiver !== undefined) {
        const report = await receiver.viewOf(viewed);
        if (report === undefined) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not received, or not viewed yet');
        answerJson(res, { ...report, summary: describeView(report) });
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
    }

    // An empty working directory, so no developer .env is read: exactly this configuration.
    const proxy = await startProxyProcess({
      cwd: dataDir,
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        JWT_SECRET: secret,
        WHATSAPP_TOKEN: fake.token,
        GRAPH_API_URL: fake.origin,
        MEDIA_HOSTS: '127.0.0.1',
        STORE_URL: `file:${storeDir}`,
        CORS_ORIGINS: new URL(url).origin,
        WHATSAPP_APP_SECRET: appSecret,
      },
    });
    cleanups.push(() => stopProcess(proxy));
    proxyUrl = `http://127.0.0.1:${proxy.port}`;
    receiver = createReceiver({ fake, proxy, proxyUrl, appSecret, storeDir });

    return { url, proxyUrl, fake, proxy, dataDir, secret, appSecret, links, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** SIGTERM (the proxy's graceful shutdown), then SIGKILL if it is still there after a while. */
async function stopProcess(proxy: ProxyProcess): Promise<void> {
  if (proxy.child.exitCode !== null || proxy.child.signalCode !== null) return;
  proxy.child.kill('SIGTERM');
  const timer = setTimeout(() => proxy.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await proxy.exited;
  clearTimeout(timer);
}

function answerJson(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
