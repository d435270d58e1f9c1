/**
 * The demo page's "receive a new message" button, done by the demo's own server, which holds the app
 * secret (the browser never sees it): the stand-in for Graph gets a new photo under a fresh media id,
 * and a webhook delivery for it, shaped as Meta sends one, is signed over its raw bytes and POSTed to
 * the proxy's /webhooks/whatsapp, as a team's backend forwards Meta's. The proxy answers at once and
 * ingests after; `receive` returns once the ingestion is over, so that the page's first view of the
 * photo is what the ingestion is for: answered by the proxy with no Graph lookup and no download.
 */
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_ACCOUNT_NAME } from '../src/accounts.js';
import { keyPath } from '../src/cache/media-tier.js';
import type { FakeWhatsApp } from '../test/support/fake-whatsapp.js';
import type { ProxyProcess } from '../test/support/proxy-process.js';
import { deliveryOf, signature } from '../test/support/webhooks.js';
import { readSample, sampleNamed, type Sample } from './samples.js';

/** Received photos get ids from here on, apart from the samples' (1000000000000001…). */
const FIRST_RECEIVED_ID = 2_000_000_000_000_001;
const INGEST_TIMEOUT_MS = 15_000;
const LOG_TIMEOUT_MS = 5_000;
const POLL_MS = 20;

/** What the stand-in has answered for one media id so far. */
export interface UpstreamCounts {
  readonly graphLookups: number;
  readonly cdnDownloads: number;
}

export interface Received {
  readonly sample: Sample;
  /** The counts once the ingestion was over, before anyone viewed the photo. */
  readonly ingested: UpstreamCounts;
}

/** How the proxy answered the view of a received photo, from its own request log. */
export interface ViewReport {
  readonly status: unknown;
  /** The log line's `cache`: `hit:memory`, `hit:store`, or `miss`. */
  readonly cache: unknown;
  /** Requests the proxy logged for this id: the views. */
  readonly requests: number;
  readonly ingested: UpstreamCounts;
  /** The counts now, after the view. */
  readonly now: UpstreamCounts;
}

export interface ReceiverDeps {
  readonly fake: FakeWhatsApp;
  readonly proxy: ProxyProcess;
  readonly proxyUrl: string;
  readonly appSecret: string;
  /** The proxy's directory store (STORE_URL). */
  readonly storeDir: string;
}

export interface Receiver {
  receive(): Promise<Received>;
  /** Undefined for an id that was not received, or that nobody has viewed yet (within a few seconds). */
  viewOf(id: string): Promise<ViewReport | undefined>;
}

export function createReceiver(deps: ReceiverDeps): Receiver {
  const received = new Map<string, UpstreamCounts>();
  let next = FIRST_RECEIVED_ID;
  const countsFor = (id: string): UpstreamCounts => ({ graphLookups: deps.fake.count('graph', id), cdnDownloads: deps.fake.count('cdn', id) });
  const viewsOf = (id: string) => deps.proxy.lines.filter((line) => line.msg === 'request' && line.path === `/media/${id}`);

  return {
    async receive() {
      const sample: Sample = { ...sampleNamed('photo.jpg'), id: String(next++), caption: 'New photo, received through the webhook' };
      const bytes = await readSample(sample);
      deps.fake.addMedia(sample.id, { bytes, mimeType: sample.mimeType });
      // Webhooks have been seen carrying the sha256 in base64 (Graph's lookup answers hex).
      const sha256 = createHash('sha256').update(bytes).digest('base64');
      const body = Buffer.from(deliveryOf([sample.id], { mimeType: sample.mimeType, sha256, caption: 'Olá! A new photo 📷' }));
      const answer = await fetch(`${deps.proxyUrl}/webhooks/whatsapp`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature(body, deps.appSecret) },
      });
      if (answer.status !== 200) throw new Error(`the proxy refused the webhook delivery: ${answer.status} ${await answer.text()}`);
      // Ingestion is over when the stand-in's CDN has served the id and the store's file is in place
      // (the directory store renames it there only once the bytes matched Graph's sha256).
      const stored = join(deps.storeDir, ...keyPath({ account: DEFAULT_ACCOUNT_NAME, id: sample.id }).split('/'));
      await until(async () => deps.fake.count('cdn', sample.id) > 0 && (await exists(stored)), INGEST_TIMEOUT_MS, `the proxy to store media id ${sample.id}`);
      const ingested = countsFor(sample.id);
      received.set(sample.id, ingested);
      return { sample, ingested };
    },

    async viewOf(id) {
      const ingested = received.get(id);
      if (ingested === undefined) return undefined;
      // The proxy logs a request as its handler answers, before the body is sent, so a view the page
      // has shown is logged; its stdout may still be on the way.
      const seen = await until(async () => viewsOf(id).length > 0, LOG_TIMEOUT_MS, '').then(() => true, () => false);
      if (!seen) return undefined;
      const views = viewsOf(id);
      const first = views[0]!;
      return { status: first.status, cache: first.cache, requests: views.length, ingested, now: countsFor(id) };
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
