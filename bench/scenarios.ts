/**
 * The load-shaped measurements: cache hits under wrk, throughput and slow readers under curl. Each
 * returns raw samples; run.ts turns them into ratios. Latency-shaped ones are in cold-scenarios.ts.
 */
import { execFileSync } from 'node:child_process';
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
  /** One URL for every client, or one per client (distinct ids: nothing to share between them). */
  readonly url: string | readonly string[];
  readonly headers: Record<string, string>;
  /** The server behind the URL, asked for its own CPU time around each batch (none for the fake CDN). */
  readonly server?: ServerProcess;
  /** How many CDN downloads the fake has served so far, read around each batch. */
  readonly cdnDownloads?: () => Promise<number>;
}

export interface ThroughputSample {
  readonly via: string;
  readonly megabytesPerSecond: number;
  /** The server's CPU time per MB it sent, when the target names its server. */
  readonly cpuMillisPerMegabyte: number | undefined;
  /** CDN downloads per file the clients received, when the target counts them. */
  readonly cdnDownloadsPerFile: number | undefined;
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
      const { via, url, headers, server, cdnDownloads } = targets[(round + i) % targets.length]!;
      const clients = Array.from({ length: shape.clients }, (_, c): CurlClient => {
        const own = typeof url === 'string' ? url : url[c];
        if (own === undefined) throw new Error(`${via}: no URL for client ${c}`);
        return { urls: Array.from({ length: shape.perClient }, () => own), headers };
      });
      const before = await server?.usage();
      const cdnBefore = await cdnDownloads?.();
      const batch = await curlBatch(clients);
      const after = await server?.usage();
      // Read once the last client has its last byte: a download the proxy shares has ended by then.
      const cdnAfter = await cdnDownloads?.();
      const transfers = batch.clients.flat();
      for (const t of transfers) expectTransfer(`download via ${via}`, t, bytes);
      const megabytes = (transfers.length * bytes) / 1e6;
      const cpuMillisPerMegabyte = before && after ? (after.cpuMicros - before.cpuMicros) / 1000 / megabytes : undefined;
      const cdnDownloadsPerFile = cdnBefore !== undefined && cdnAfter !== undefined ? (cdnAfter - cdnBefore) / transfers.length : undefined;
      if (round > 0) results.push({ via, megabytesPerSecond: megabytes / (batch.wallMs / 1000), cpuMillisPerMegabyte, cdnDownloadsPerFile });
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

/**
 * What verifying costs on this machine, which the bare relay skips: Node's sha256 over `megabytes` of
 * 64 KiB chunks (the chunks the CDN body arrives in), CPU ms per MB, in a process of its own.
 */
export function measureSha256(megabytes: number): number {
  const script = [
    "const { createHash } = require('node:crypto');",
    'const chunk = Buffer.alloc(65536, 7);',
    `const chunks = Math.ceil(${megabytes} * 1e6 / chunk.byteLength);`,
    'const hash = createHash("sha256");',
    'const start = process.cpuUsage();',
    'for (let i = 0; i < chunks; i++) hash.update(chunk);',
    'hash.digest();',
    'const used = process.cpuUsage(start);',
    'process.stdout.write(String((used.user + used.system) / 1000 / (chunks * chunk.byteLength / 1e6)));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  const millisPerMegabyte = Number(out);
  if (!Number.isFinite(millisPerMegabyte) || millisPerMegabyte <= 0) throw new Error(`sha256 measurement printed ${JSON.stringify(out)}`);
  return millisPerMegabyte;
}
