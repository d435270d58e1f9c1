/**
 * The latency-shaped measurements, one curl process per request, timed by curl itself
 * (time_starttransfer for the first byte, time_total for the last): cold misses through each server
 * against a client doing the Graph lookup and the CDN download itself, and first hits from the store
 * against memory hits.
 */
import { DEFAULTS } from '../src/config.js';
import { deliveryOf, signature } from '../test/support/webhooks.js';
import { curlBody, curlOnce, expectTransfer } from './curl.js';
import type { ColdSet } from './media-set.js';
import type { FakeProcess, ServerProcess } from './processes.js';
import { bearer } from './scenarios.js';

export interface LatencySample {
  readonly via: string;
  readonly firstByteMs: number;
  readonly totalMs: number;
}

/** One way of getting a media id's bytes, timed. */
export interface Way {
  readonly via: string;
  get(id: string): Promise<{ readonly firstByteMs: number; readonly totalMs: number }>;
}

/** Through a server's GET /media/:id. */
export function viaServer(server: ServerProcess, jwt: string, bytes: number): Way {
  return {
    via: server.name,
    async get(id) {
      const t = await curlOnce(`${server.url}/media/${id}`, bearer(jwt));
      expectTransfer(`${server.name} /media/${id}`, t, bytes);
      return t;
    },
  };
}

/**
 * The client on its own: one curl asks Graph for the URL, a second downloads it. The two curl times
 * are summed (the first byte is the lookup's whole time plus the download's first byte), so the
 * start of the second process is not counted against the client.
 */
export function viaClientItself(fake: FakeProcess, bytes: number): Way {
  return {
    via: 'direct',
    async get(id) {
      const lookup = await curlBody(`${fake.origin}/${DEFAULTS.GRAPH_API_VERSION}/${id}`, bearer(fake.token));
      const url = (JSON.parse(lookup.body) as { url?: unknown }).url;
      if (lookup.transfer.status !== 200 || typeof url !== 'string') throw new Error(`fake Graph answered ${lookup.transfer.status} for ${id}`);
      const download = await curlOnce(url, bearer(fake.token));
      expectTransfer(`direct download of ${id}`, download, bytes);
      return { firstByteMs: lookup.transfer.totalMs + download.firstByteMs, totalMs: lookup.transfer.totalMs + download.totalMs };
    },
  };
}

/** A fresh id per request, the ways in rotating order; the first `warmup` rounds are not counted. */
export async function measureColdMiss(ways: readonly Way[], set: ColdSet, warmup: number): Promise<LatencySample[]> {
  const rounds = Math.floor(set.count / ways.length);
  if (rounds <= warmup) throw new Error(`the fake holds ${set.count} ${set.name} ids: too few for ${ways.length} ways`);
  const samples: LatencySample[] = [];
  let next = 0;
  for (let n = 0; n < rounds; n++) {
    for (let i = 0; i < ways.length; i++) {
      const way = ways[(n + i) % ways.length]!;
      const t = await way.get(set.id(next++));
      if (n >= warmup) samples.push({ via: way.via, firstByteMs: t.firstByteMs, totalMs: t.totalMs });
    }
  }
  return samples;
}

/** Files in the proxy's store, from /healthz. */
async function storedEntries(proxy: ServerProcess): Promise<number> {
  const { transfer, body } = await curlBody(`${proxy.url}/healthz`, {});
  const entries = (JSON.parse(body) as { store?: { entries?: unknown } }).store?.entries;
  if (transfer.status !== 200 || typeof entries !== 'number') throw new Error(`/healthz answered ${transfer.status} without a store fill: ${body}`);
  return entries;
}

/**
 * Requests every id of the set once through the proxy (a cold miss each), then waits until the store
 * holds them all: a file is committed to the store after its last byte went out, and a proxy stopped
 * before that commit does not wait for it (the temporary file is dropped at the next start).
 */
export async function prefetch(proxy: ServerProcess, jwt: string, set: ColdSet): Promise<void> {
  const before = await storedEntries(proxy);
  const way = viaServer(proxy, jwt, set.bytes);
  for (let n = 0; n < set.count; n++) await way.get(set.id(n));
  await storedAtLeast(proxy, before + set.count, `the ${set.count} files of ${set.name}`);
}

/** Waits until the store holds at least `count` files. */
async function storedAtLeast(proxy: ServerProcess, count: number, what: string): Promise<void> {
  for (let wait = 0; (await storedEntries(proxy)) < count; wait++) {
    if (wait >= 50) throw new Error(`the store did not take ${what} within 5 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Delivers each id of the set through the signed webhook (as Meta would, with the Graph sha256 in
 * the media object) and waits until the store holds it: the file "just ingested".
 */
export async function ingest(proxy: ServerProcess, fake: FakeProcess, appSecret: string, set: ColdSet): Promise<void> {
  for (let n = 0; n < set.count; n++) {
    const id = set.id(n);
    const lookup = await curlBody(`${fake.origin}/${DEFAULTS.GRAPH_API_VERSION}/${id}`, bearer(fake.token));
    const { sha256 } = JSON.parse(lookup.body) as { sha256: string };
    const body = deliveryOf([id], { sha256 });
    const before = await storedEntries(proxy);
    const sent = await curlBody(`${proxy.url}/webhooks/whatsapp`, { 'content-type': 'application/json', 'x-hub-signature-256': signature(body, appSecret) }, body);
    if (sent.transfer.status !== 200) throw new Error(`webhook delivery of ${id} answered ${sent.transfer.status}: ${sent.body}`);
    await storedAtLeast(proxy, before + 1, `the ingested ${id}`);
  }
}

export interface FirstHitPair {
  /** The first request for the id since the proxy started: from the store. */
  readonly first: LatencySample;
  /** The request right after it: from memory. */
  readonly again: LatencySample;
}

/**
 * For each id of a prefetched set, after a restart: the first request, then the same again. Checks
 * that neither reached Graph or the CDN (a store hit asks upstream nothing). The first id warms the
 * path up and is not counted.
 */
export async function measureFirstHits(proxy: ServerProcess, fake: FakeProcess, jwt: string, set: ColdSet): Promise<FirstHitPair[]> {
  // An ingested file was asked of Graph and the CDN by the ingest; the views must ask nothing more.
  const way = viaServer(proxy, jwt, set.bytes);
  const pairs: FirstHitPair[] = [];
  for (let n = 0; n < set.count; n++) {
    const id = set.id(n);
    const upstreamBefore = (await fake.count('graph', id)) + (await fake.count('cdn', id));
    const first = await way.get(id);
    const again = await way.get(id);
    const upstreamAfter = (await fake.count('graph', id)) + (await fake.count('cdn', id));
    if (upstreamAfter !== upstreamBefore) throw new Error(`${id}: the first hit after a restart asked upstream ${upstreamAfter - upstreamBefore} times`);
    if (n > 0) pairs.push({ first: { via: 'store', ...first }, again: { via: 'memory', ...again } });
  }
  return pairs;
}

/**
 * bench/fresh-buffer-server.ts: every buffer is filled first (the ingest), then each is sent twice
 * (the first view and a later one), as the ingest row does with the proxy. `kernelRead`: each buffer
 * is written to a file once it is filled, so the kernel has read it before its first send.
 */
export async function measureFreshBufferSends(server: ServerProcess, count: number, bytes: number, options: { kernelRead?: boolean } = {}): Promise<FirstHitPair[]> {
  for (let n = 0; n < count; n++) {
    const filled = await curlBody(`${server.url}/fill/${n}${options.kernelRead ? '?kernel-read' : ''}`, {}, '');
    if (filled.transfer.status !== 204) throw new Error(`${server.name}: filling buffer ${n} answered ${filled.transfer.status}`);
  }
  const pairs: FirstHitPair[] = [];
  for (let n = 0; n < count; n++) {
    const first = await curlOnce(`${server.url}/${n}`, {});
    const again = await curlOnce(`${server.url}/${n}`, {});
    expectTransfer(`${server.name} /${n}`, first, bytes);
    expectTransfer(`${server.name} /${n}`, again, bytes);
    if (n > 0) pairs.push({ first: { via: 'first send', ...first }, again: { via: 'second send', ...again } });
  }
  return pairs;
}
