/** The four measurements. Each returns raw samples; run.ts turns them into ratios. */
import { Agent, get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { DEFAULTS } from '../src/config.js';
import { runLoad, type LoadTool } from './load.js';
import { COLD_IDS, COLD_SAMPLES, coldId, COLD_BYTES, HIT_IMAGE, SLOW_BYTES, SLOW_ID, STREAM_BYTES, STREAM_ID } from './media-set.js';
import type { FakeProcess, ServerProcess } from './processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Reads a whole response with node:http, counting bytes; `pauseMs` makes it a slow reader. */
function download(url: string, headers: Record<string, string>, agent: Agent, pauseMs = 0): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    get(url, { headers, agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.byteLength;
        if (pauseMs > 0) {
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

function expectAnswer(what: string, got: { status: number; bytes: number }, bytes: number): void {
  if (got.status !== 200 || got.bytes !== bytes) throw new Error(`${what}: got ${got.status} with ${got.bytes} bytes, expected 200 with ${bytes}`);
}

async function resolveDirect(fake: FakeProcess, id: string): Promise<string> {
  const res = await fetch(`${fake.origin}/${DEFAULTS.GRAPH_API_VERSION}/${id}`, { headers: { authorization: `Bearer ${fake.token}` } });
  const body = (await res.json()) as { url?: string };
  if (res.status !== 200 || typeof body.url !== 'string') throw new Error(`fake Graph answered ${res.status} for ${id}`);
  return body.url;
}

export interface HitRound {
  readonly server: string;
  readonly cpuMicrosPerRequest: number;
  readonly requestsPerSecond: number;
  readonly requests: number;
}

/** Cached 200 KiB image with a caller JWT vs node:http answering the same Buffer; alternating rounds. */
export async function measureCacheHit(proxy: ServerProcess, bare: ServerProcess, jwt: string, tool: LoadTool, rounds: number, seconds: number, connections: number): Promise<HitRound[]> {
  const path = `/media/${HIT_IMAGE.meta.id}`;
  const headers = { authorization: `Bearer ${jwt}` };
  const agent = new Agent({ keepAlive: true });
  expectAnswer('first proxy request', await download(proxy.url + path, headers, agent), HIT_IMAGE.bytes.byteLength);
  expectAnswer('bare server', await download(bare.url + path, headers, agent), HIT_IMAGE.bytes.byteLength);
  agent.destroy();
  // Warm both up (JIT, connection pools) before anything counts.
  for (const server of [proxy, bare]) await runLoad(tool, server.url + path, headers, connections, 1);

  const results: HitRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [bare, proxy] : [proxy, bare];
    for (const server of order) {
      const before = await server.usage();
      const load = await runLoad(tool, server.url + path, headers, connections, seconds);
      const after = await server.usage();
      if (load.failures > 0 || load.requests === 0) throw new Error(`${server.name}: ${load.failures} failed requests under load`);
      results.push({
        server: server.name,
        cpuMicrosPerRequest: (after.cpuMicros - before.cpuMicros) / load.requests,
        requestsPerSecond: load.requests / load.seconds,
        requests: load.requests,
      });
    }
  }
  return results;
}

export interface ThroughputSample {
  /** A server's name, or 'direct' for the client fetching from the fake CDN itself. */
  readonly via: string;
  readonly megabytesPerSecond: number;
}

/**
 * 20 MiB file, 4 clients each downloading it `perClient` times: through each server (the proxy, the
 * reference relay) and straight from the fake CDN, in rotating order within each round.
 */
export async function measureStream(servers: readonly ServerProcess[], fake: FakeProcess, jwt: string, rounds: number, perClient: number): Promise<ThroughputSample[]> {
  const directUrl = await resolveDirect(fake, STREAM_ID);
  const targets = [
    { via: 'direct', url: directUrl, headers: { authorization: `Bearer ${fake.token}`, 'user-agent': 'bench' } },
    ...servers.map((server) => ({ via: server.name, url: `${server.url}/media/${STREAM_ID}`, headers: { authorization: `Bearer ${jwt}` } })),
  ];
  const agent = new Agent({ keepAlive: true });
  const results: ThroughputSample[] = [];
  for (let round = 0; round < rounds + 1; round++) {
    for (let i = 0; i < targets.length; i++) {
      const { via, url, headers } = targets[(round + i) % targets.length]!;
      const started = performance.now();
      let total = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let n = 0; n < perClient; n++) {
            const got = await download(url, headers, agent);
            expectAnswer(`stream via ${via}`, got, STREAM_BYTES);
            total += got.bytes;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      // Round 0 warms every path up and is not counted.
      if (round > 0) results.push({ via, megabytesPerSecond: total / 1e6 / seconds });
    }
  }
  agent.destroy();
  return results;
}

export interface LatencySample {
  readonly via: string;
  readonly ms: number;
}

const COLD_WARMUP = 3;

/**
 * First request for an id nobody asked for before, through each server, vs a client doing the Graph
 * lookup and the CDN download itself (with fetch, as a Node client of Graph would). In rotating
 * order, a fresh id per request.
 */
export async function measureColdMiss(servers: readonly ServerProcess[], fake: FakeProcess, jwt: string): Promise<LatencySample[]> {
  const samples: LatencySample[] = [];
  const read = async (res: Response, what: string) => {
    const bytes = (await res.arrayBuffer()).byteLength;
    if (res.status !== 200 || bytes !== COLD_BYTES) throw new Error(`${what}: got ${res.status} with ${bytes} bytes`);
  };
  const direct = async (id: string) => {
    const url = await resolveDirect(fake, id);
    await read(await fetch(url, { headers: { authorization: `Bearer ${fake.token}`, 'user-agent': 'bench' } }), 'direct download');
  };
  const ways = [{ via: 'direct', get: direct }, ...servers.map((server) => ({ via: server.name, get: async (id: string) => read(await fetch(`${server.url}/media/${id}`, { headers: { authorization: `Bearer ${jwt}` } }), `cold miss via ${server.name}`) }))];
  let nextId = 0;
  if (COLD_SAMPLES * ways.length > COLD_IDS) throw new Error(`the fake holds ${COLD_IDS} cold ids, ${COLD_SAMPLES * ways.length} needed`);
  for (let n = 0; n < COLD_SAMPLES; n++) {
    for (let i = 0; i < ways.length; i++) {
      const way = ways[(n + i) % ways.length]!;
      const started = performance.now();
      await way.get(coldId(nextId++));
      if (n >= COLD_WARMUP) samples.push({ via: way.via, ms: performance.now() - started });
    }
  }
  return samples;
}

export interface MemoryResult {
  readonly baselineRss: number;
  readonly peakRss: number;
  readonly seconds: number;
}

/** Peak RSS growth of a fresh proxy while 24 slow readers each read the 12 MiB file. */
export async function measureSlowReaders(proxy: ServerProcess, jwt: string, readers: number, pauseMs: number): Promise<MemoryResult> {
  const url = `${proxy.url}/media/${SLOW_ID}`;
  const headers = { authorization: `Bearer ${jwt}` };
  const agent = new Agent({ keepAlive: true, maxSockets: readers });
  // Warm the streaming path once (JIT, connection pool), then let the heap settle.
  expectAnswer('warm-up stream', await download(url, headers, agent), SLOW_BYTES);
  await sleep(500);
  const start = await proxy.usage('peak-start');
  const started = performance.now();
  const done = await Promise.all(Array.from({ length: readers }, () => download(url, headers, agent, pauseMs)));
  const seconds = (performance.now() - started) / 1000;
  const stop = await proxy.usage('peak-stop');
  for (const got of done) expectAnswer('slow reader', got, SLOW_BYTES);
  agent.destroy();
  return { baselineRss: start.rss, peakRss: stop.peakRss, seconds };
}
