/**
 * The load-shaped measurements: cache hits under wrk, throughput and slow readers under curl. Each
 * returns raw samples; run.ts turns them into ratios. Latency-shaped ones are in cold-scenarios.ts.
 */
import { curlBatch, curlOnce, expectTransfer, type CurlClient } from './curl.js';
import { runLoad } from './load.js';
import { HIT_IMAGE, SLOW_BYTES, SLOW_ID } from './media-set.js';
import type { ServerProcess } from './processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface HitRound {
  readonly server: string;
  readonly cpuMicrosPerRequest: number;
  readonly requestsPerSecond: number;
  readonly requests: number;
}

/** Cached 200 KiB image with a caller JWT vs node:http answering the same Buffer; alternating rounds. */
export async function measureCacheHit(proxy: ServerProcess, bare: ServerProcess, jwt: string, rounds: number, seconds: number, connections: number): Promise<HitRound[]> {
  const path = `/media/${HIT_IMAGE.meta.id}`;
  expectTransfer('first proxy request', await curlOnce(proxy.url + path, bearer(jwt)), HIT_IMAGE.bytes.byteLength);
  expectTransfer('bare server', await curlOnce(bare.url + path), HIT_IMAGE.bytes.byteLength);
  // Warm both up (JIT, connection pools) before anything counts.
  for (const server of [proxy, bare]) await runLoad(server.url + path, bearer(jwt), connections, 1);

  const results: HitRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [bare, proxy] : [proxy, bare];
    for (const server of order) {
      const before = await server.usage();
      const load = await runLoad(server.url + path, bearer(jwt), connections, seconds);
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

/** Where a throughput client downloads from: a server's /media URL, or the fake CDN itself. */
export interface Target {
  readonly via: string;
  readonly url: string;
  readonly headers: Record<string, string>;
}

export interface ThroughputSample {
  readonly via: string;
  readonly megabytesPerSecond: number;
}

/**
 * `clients` curl processes, each downloading the file `perClient` times over one connection, from
 * each target in turn (rotating order per round). MB/s is all bytes over the batch's wall time.
 * Round 0 warms every path up and is not counted.
 */
export async function measureThroughput(targets: readonly Target[], bytes: number, shape: { rounds: number; clients: number; perClient: number }): Promise<ThroughputSample[]> {
  const results: ThroughputSample[] = [];
  for (let round = 0; round < shape.rounds + 1; round++) {
    for (let i = 0; i < targets.length; i++) {
      const { via, url, headers } = targets[(round + i) % targets.length]!;
      const client: CurlClient = { urls: Array.from({ length: shape.perClient }, () => url), headers };
      const batch = await curlBatch(Array.from({ length: shape.clients }, () => client));
      const transfers = batch.clients.flat();
      for (const t of transfers) expectTransfer(`download via ${via}`, t, bytes);
      if (round > 0) results.push({ via, megabytesPerSecond: (transfers.length * bytes) / 1e6 / (batch.wallMs / 1000) });
    }
  }
  return results;
}

export interface MemoryResult {
  readonly baselineRss: number;
  readonly peakRss: number;
  readonly seconds: number;
}

/** Peak RSS growth of a fresh proxy while `readers` curl processes, each rate-limited, read the 12 MiB file. */
export async function measureSlowReaders(proxy: ServerProcess, jwt: string, readers: number, bytesPerSecond: number): Promise<MemoryResult> {
  const url = `${proxy.url}/media/${SLOW_ID}`;
  // Warm the streaming path once (JIT, connection pool), then let the heap settle.
  expectTransfer('warm-up stream', await curlOnce(url, bearer(jwt)), SLOW_BYTES);
  await sleep(500);
  const start = await proxy.usage('peak-start');
  const batch = await curlBatch(Array.from({ length: readers }, () => ({ urls: [url], headers: bearer(jwt), limitRate: bytesPerSecond })));
  const stop = await proxy.usage('peak-stop');
  for (const t of batch.clients.flat()) expectTransfer('slow reader', t, SLOW_BYTES);
  return { baselineRss: start.rss, peakRss: stop.peakRss, seconds: batch.wallMs / 1000 };
}
