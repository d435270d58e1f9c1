/**
 * Everything `npm run demo` runs, as one start/stop pair (the browser suite starts the same):
 * the tests' fake Graph + CDN loaded with the samples, the real proxy entrypoint in a child process
 * with the directory store in a temporary folder, and the demo page on its own loopback port.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaUrl } from '../src/auth/media-url.js';
import { FakeWhatsApp } from '../test/support/fake-whatsapp.js';
import { startProxyProcess, type ProxyProcess } from '../test/support/proxy-process.js';
import { renderDemoPage, type PageItem } from './demo-page.js';
import { readSample, SAMPLES } from './samples.js';

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
    let proxyUrl = '';
    const links = (now = Date.now()) =>
      Promise.all(
        SAMPLES.map(async (sample) => {
          const url = await mediaUrl({ baseUrl: proxyUrl, secret, id: sample.id, ttlSeconds: LINK_TTL_SECONDS, windowSeconds: LINK_WINDOW_SECONDS, now });
          return { sample, url };
        }),
      );

    // The page listens first: the proxy needs its origin for CORS_ORIGINS.
    // `/?at=<ms>` mints the links as at that moment instead of now: what a page view in another
    // window gets (the browser suite uses it to cross a window boundary without waiting an hour).
    const page = createServer((req, res) => {
      const requested = new URL(req.url ?? '/', 'http://x');
      const at = requested.searchParams.get('at');
      if (req.method !== 'GET' || requested.pathname !== '/' || (at !== null && !/^\d{1,15}$/.test(at))) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      links(at === null ? undefined : Number(at)).then(
        (items) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(renderDemoPage(items, proxyUrl)),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
    });
    await listen(page);
    cleanups.push(() => close(page));
    const url = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`;

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
      },
    });
    cleanups.push(() => stopProcess(proxy));
    proxyUrl = `http://127.0.0.1:${proxy.port}`;

    return { url, proxyUrl, fake, proxy, dataDir, secret, links, stop };
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
