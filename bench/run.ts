/**
 * `npm run bench`: the proxy (src/node.ts, the real entrypoint, in its own process) against the fake
 * WhatsApp (its own process) and the baselines, on loopback, printing ratios. Every client is curl or
 * wrk in a process of its own. Absolute numbers are noise on a shared machine; ratios measured in the
 * same run are what to compare. Exits non-zero only when something breaks (a wrong answer, a crash,
 * a missing tool), never because a goal was missed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { DEFAULTS } from '../src/config.js';
import { ingest, measureColdMiss, measureFirstHits, measureFreshBufferSends, prefetch, viaClientItself, viaServer, type FirstHitPair, type LatencySample } from './cold-scenarios.js';
import { checkCurl, curlBody, curlOnce, expectTransfer } from './curl.js';
import { checkWrk } from './load.js';
import { COLD, DISTINCT_STREAM_IDS, INGEST_PHOTO, PHOTO, RESTART_PHOTO, RESTART_SMALL, STREAM_BYTES, STREAM_ID, streamMedia } from './media-set.js';
import { killAllChildren, ROOT, startFake, startServer, type FakeProcess, type ServerProcess } from './processes.js';
import { bearer, measureCacheHit, measureSha256, measureSlowReaders, measureThroughput, type HitRound, type ThroughputSample } from './scenarios.js';
import { atLeast, atMost, comparisonRow, fmt, MEGABYTES_PER_SECOND, MICROS, MILLIS, MILLIS_PER_MEGABYTE, COUNT, PER_SECOND, printTable, type Goal, type Row } from './table.js';

// Short rounds, many of them, alternating the two servers: this machine's speed drifts over seconds.
const HIT_ROUNDS = 5;
const HIT_SECONDS = 2;
const HIT_CONNECTIONS = 16;
// One request at a time: nobody waits in a queue, so every response wakes the client and every
// request wakes the server. Closer to a proxy's usual, unsaturated day than 16 connections flat out.
const HIT_SINGLE_CONNECTION = 1;
const STREAM = { rounds: 5, clients: DISTINCT_STREAM_IDS.length, perClient: 2 };
const SLOW_READERS = 24;
const SLOW_READER_BYTES_PER_SECOND = 3_000_000;
/** The realistic upstream: Graph and the CDN answer after 40 ms, the CDN sends 25 MB/s. */
const REALISTIC = { latencyMs: 40, bytesPerSecond: 25_000_000 };
const WATCHDOG_MS = 300_000;

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${WATCHDOG_MS / 1000} s; stopping`);
  killAllChildren();
  process.exit(2);
}, WATCHDOG_MS);
watchdog.unref();

checkCurl();
checkWrk();
const secret = randomBytes(32).toString('hex');
const appSecret = randomBytes(16).toString('hex');
const now = Math.floor(Date.now() / 1000);
const jwt = await new SignJWT({ media: '*' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 3600).sign(new TextEncoder().encode(secret));
// Empty working directory: a developer's .env must not change what is measured.
const cwd = mkdtempSync(join(tmpdir(), 'wmp-bench-'));
const nodeArgs = process.env.BENCH_PROXY_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';

/** The proxy as `npm start` runs it, with its directory store in the run's temporary directory. */
function proxyEnv(fake: FakeProcess, store: string): Record<string, string> {
  return { WHATSAPP_TOKEN: fake.token, WHATSAPP_APP_SECRET: appSecret, JWT_SECRET: secret, GRAPH_API_URL: fake.origin, MEDIA_HOSTS: '127.0.0.1', HOST: '127.0.0.1', LOG_LEVEL, STORE_URL: store };
}
const STORE = `file:${join(cwd, 'store')}`;
const startProxy = (fake: FakeProcess, name = 'proxy', store = STORE) => startServer(name, join(ROOT, 'src/node.ts'), proxyEnv(fake, store), { cwd, nodeArgs });
const RELAY = 'bare relay';

const started = Date.now();
const rows: Row[] = [];
let fake: FakeProcess | undefined;
const servers: ServerProcess[] = [];
try {
  fake = await startFake(cwd);
  const fileOnDisk = join(cwd, 'file-server-copy.bin');
  writeFileSync(fileOnDisk, streamMedia().bytes);
  let proxy = await startProxy(fake);
  // Streams are measured without a store: with one, the second download of the file is a store hit.
  const streaming = await startProxy(fake, 'proxy, STORE_URL=none', 'none');
  const bare = await startServer('bare node:http', join(ROOT, 'bench/bare-server.ts'), {}, { cwd });
  const relay = await startServer(RELAY, join(ROOT, 'bench/relay-server.ts'), { GRAPH_API_URL: fake.origin, WHATSAPP_TOKEN: fake.token }, { cwd });
  const files = await startServer('bare file server', join(ROOT, 'bench/file-server.ts'), { BENCH_FILE: fileOnDisk }, { cwd });
  const freshBuffers = await startServer('bare fresh-buffer server', join(ROOT, 'bench/fresh-buffer-server.ts'), {}, { cwd });
  servers.push(proxy, streaming, bare, relay, files, freshBuffers);

  for (const connections of [HIT_CONNECTIONS, HIT_SINGLE_CONNECTION]) {
    const hits = await measureCacheHit(proxy, bare, jwt, HIT_ROUNDS, HIT_SECONDS, connections);
    const of = (name: string, pick: (h: HitRound) => number) => hits.filter((h) => h.server === name).map(pick);
    const cpu = (h: HitRound) => h.cpuMicrosPerRequest;
    if (connections === HIT_CONNECTIONS) {
      rows.push(
        comparisonRow(`cache hit, 200 KiB + JWT: server CPU per request vs bare node:http (${HIT_ROUNDS}×${HIT_SECONDS} s, ${connections} conns)`, of('proxy', cpu), of(bare.name, cpu), MICROS, atMost(1.5)),
        comparisonRow('cache hit: requests/s (information; wrk shares the CPUs)', of('proxy', (h) => h.requestsPerSecond), of(bare.name, (h) => h.requestsPerSecond), PER_SECOND),
      );
    } else {
      rows.push(comparisonRow(`cache hit, the same with ${connections} connection (information: not saturated)`, of('proxy', cpu), of(bare.name, cpu), MICROS));
    }
  }

  const direct = { via: 'direct', url: await directUrl(fake, STREAM_ID), headers: bearer(fake.token) };
  const cdnDownloads = () => fake!.count('cdn', STREAM_ID);
  const streams = await measureThroughput([{ via: 'proxy', url: `${streaming.url}/media/${STREAM_ID}`, headers: bearer(jwt), server: streaming, cdnDownloads }, { via: RELAY, url: `${relay.url}/media/${STREAM_ID}`, headers: {}, server: relay, cdnDownloads }, direct], STREAM_BYTES, STREAM);
  const throughput = (s: readonly ThroughputSample[], via: string) => s.filter((x) => x.via === via).map((x) => x.megabytesPerSecond);
  const measured = (s: readonly ThroughputSample[], via: string, pick: (x: ThroughputSample) => number | undefined) =>
    s.filter((x) => x.via === via).map((x) => pick(x) ?? failWith(`${via}: a throughput round without that measurement`));
  const cpuPerMegabyte = (s: readonly ThroughputSample[], via: string) => measured(s, via, (x) => x.cpuMillisPerMegabyte);
  const cdnPerFile = (s: readonly ThroughputSample[], via: string) => measured(s, via, (x) => x.cdnDownloadsPerFile);
  const sha256 = measureSha256(256);
  const shape = `${STREAM.clients} clients × ${STREAM.perClient}`;
  rows.push(
    comparisonRow(`stream 20 MiB, one id, ${shape}: MB/s vs the ${RELAY} (no auth, no sha256, node:http pipe)`, throughput(streams, 'proxy'), throughput(streams, RELAY), MEGABYTES_PER_SECOND, atLeast(0.9)),
    comparisonRow('stream, the same: proxy vs straight from the fake CDN (information)', throughput(streams, 'proxy'), throughput(streams, 'direct'), MEGABYTES_PER_SECOND),
    comparisonRow(`stream, the same: server CPU per MB sent vs the ${RELAY} (information)`, cpuPerMegabyte(streams, 'proxy'), cpuPerMegabyte(streams, RELAY), MILLIS_PER_MEGABYTE),
    comparisonRow(`stream, the same: CDN downloads per file sent vs the ${RELAY} (information: callers arriving together share one)`, cdnPerFile(streams, 'proxy'), cdnPerFile(streams, RELAY), COUNT),
  );
  // The same shape, each client its own id: every byte comes down once per client and is checked once
  // per client, as through the relay. What the proxy costs per byte, with nothing shared.
  const each = (origin: string) => DISTINCT_STREAM_IDS.map((id) => `${origin}/media/${id}`);
  const distinct = await measureThroughput([{ via: 'proxy', url: each(streaming.url), headers: bearer(jwt), server: streaming }, { via: RELAY, url: each(relay.url), headers: {}, server: relay }], STREAM_BYTES, STREAM);
  rows.push(
    comparisonRow(`stream, the same, each client another id (information: nothing to share)`, throughput(distinct, 'proxy'), throughput(distinct, RELAY), MEGABYTES_PER_SECOND),
    comparisonRow(`stream, each client another id: server CPU per MB sent vs the ${RELAY} (information)`, cpuPerMegabyte(distinct, 'proxy'), cpuPerMegabyte(distinct, RELAY), MILLIS_PER_MEGABYTE),
    { scenario: 'sha256 alone, 64 KiB chunks, one core, a process of its own (information: the check the relay skips)', proxy: `${fmt(sha256)} ms/MB`, baseline: '—', ratio: '—', goal: '—', met: undefined },
  );

  // The proxy's memory tier cannot hold 20 MiB (CACHE_MAX_ITEM_BYTES is 8 MiB): every download after
  // the first is read from the store.
  await fillStore(proxy, fake, STREAM_ID, STREAM_BYTES);
  const cdnBefore = await fake.count('cdn', STREAM_ID);
  const fromStore = await measureThroughput([{ via: 'proxy', url: `${proxy.url}/media/${STREAM_ID}`, headers: bearer(jwt), server: proxy }, { via: files.name, url: files.url, headers: {}, server: files }], STREAM_BYTES, STREAM);
  if ((await fake.count('cdn', STREAM_ID)) !== cdnBefore) throw new Error('store hit: the proxy downloaded the file again');
  rows.push(
    comparisonRow(`store hit 20 MiB, ${shape}: MB/s vs bare node:http piping the file from disk`, throughput(fromStore, 'proxy'), throughput(fromStore, files.name), MEGABYTES_PER_SECOND, atLeast(0.7)),
    comparisonRow('store hit, the same: server CPU per MB sent vs the file server (information)', cpuPerMegabyte(fromStore, 'proxy'), cpuPerMegabyte(fromStore, files.name), MILLIS_PER_MEGABYTE),
  );

  const ways = (bytes: number) => [viaClientItself(fake!, bytes), viaServer(proxy, jwt, bytes), viaServer(relay, jwt, bytes)];
  const cold = await measureColdMiss(ways(COLD.bytes), COLD, 3);
  rows.push(...coldRows(cold, `cold miss, ${COLD.name}, loopback (information)`));

  await fake.setNetwork(REALISTIC);
  const realistic = await measureColdMiss(ways(PHOTO.bytes), PHOTO, 2);
  await fake.setNetwork({});
  rows.push(...coldRows(realistic, `realistic upstream (${REALISTIC.latencyMs} ms, ${REALISTIC.bytesPerSecond / 1e6} MB/s): cold miss, ${PHOTO.name}`, [atMost(1.1), atMost(1.05)]));

  await prefetch(proxy, jwt, RESTART_SMALL);
  await prefetch(proxy, jwt, RESTART_PHOTO);
  await proxy.stop();
  proxy = await startProxy(fake);
  servers.push(proxy);
  const firstHits = (pairs: readonly FirstHitPair[]) => [pairs.map((p) => p.first.totalMs), pairs.map((p) => p.again.totalMs)] as const;
  rows.push(
    comparisonRow(`first hit of a ${RESTART_PHOTO.name} after a restart (from the store) vs a memory hit (information)`, ...firstHits(await measureFirstHits(proxy, fake, jwt, RESTART_PHOTO)), MILLIS),
    comparisonRow(`first hit of a ${RESTART_SMALL.name} file after a restart (from the store) vs a memory hit`, ...firstHits(await measureFirstHits(proxy, fake, jwt, RESTART_SMALL)), MILLIS),
  );
  // Delivered through the signed webhook and stored by its prefetch; then the first view, whichever
  // tier the ingest left it in.
  await ingest(proxy, fake, appSecret, INGEST_PHOTO);
  rows.push(comparisonRow(`first view of a ${INGEST_PHOTO.name} the webhook has just ingested vs a memory hit`, ...firstHits(await measureFirstHits(proxy, fake, jwt, INGEST_PHOTO)), MILLIS, atMost(1.5)));
  rows.push(
    comparisonRow(
      `the same with bare node:http: first send of a freshly filled ${INGEST_PHOTO.name} buffer vs its second (reference)`,
      ...firstHits(await measureFreshBufferSends(freshBuffers, INGEST_PHOTO.count, INGEST_PHOTO.bytes)),
      MILLIS,
    ),
    comparisonRow(
      'the same, each buffer written to a file once filled, so the kernel has read it before its first send (reference)',
      ...firstHits(await measureFreshBufferSends(freshBuffers, INGEST_PHOTO.count, INGEST_PHOTO.bytes, { kernelRead: true })),
      MILLIS,
    ),
  );
  for (const server of servers) await server.stop();

  // A fresh proxy, so what earlier scenarios left on the heap does not hide or inflate the growth.
  const fresh = await startProxy(fake, 'proxy', 'none');
  servers.push(fresh);
  const memory = await measureSlowReaders(fresh, jwt, SLOW_READERS, SLOW_READER_BYTES_PER_SECOND);
  const growthMiB = (memory.peakRss - memory.baselineRss) / 2 ** 20;
  rows.push({
    scenario: `memory: peak RSS growth, ${SLOW_READERS} slow readers (curl --limit-rate ${SLOW_READER_BYTES_PER_SECOND / 1e6} MB/s) of a 12 MiB file (${fmt(memory.seconds, 1)} s)`,
    proxy: `${fmt(growthMiB, 1)} MiB`,
    baseline: `${fmt(memory.baselineRss / 2 ** 20, 0)} MiB before`,
    ratio: '—',
    goal: '≤ 64 MiB',
    met: growthMiB <= 64,
  });
} finally {
  for (const server of servers) await server.stop().catch(() => {});
  fake?.stop();
  rmSync(cwd, { recursive: true, force: true });
}

async function directUrl(f: FakeProcess, id: string): Promise<string> {
  const { transfer, body } = await curlBody(`${f.origin}/${DEFAULTS.GRAPH_API_VERSION}/${id}`, bearer(f.token));
  const url = (JSON.parse(body) as { url?: unknown }).url;
  if (typeof url !== 'string') throw new Error(`fake Graph answered ${transfer.status} for ${id}`);
  return url;
}

/** Downloads `id` through the proxy until a download asks the CDN nothing: the store holds it. */
async function fillStore(p: ServerProcess, f: FakeProcess, id: string, bytes: number): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const before = await f.count('cdn', id);
    expectTransfer(`fill the store with ${id}`, await curlOnce(`${p.url}/media/${id}`, bearer(jwt)), bytes);
    if ((await f.count('cdn', id)) === before) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${id}: still downloaded from the CDN after 10 requests; the store never served it`);
}

/** First byte and last byte of the proxy, and of the relay as reference, against the client itself. */
function coldRows(samples: readonly LatencySample[], what: string, goals: readonly [Goal, Goal] | [] = []): Row[] {
  const of = (via: string, pick: (s: LatencySample) => number) => samples.filter((s) => s.via === via).map(pick);
  const first = (s: LatencySample) => s.firstByteMs;
  const last = (s: LatencySample) => s.totalMs;
  const n = of('proxy', first).length;
  return [
    comparisonRow(`${what}: time to first byte vs the client's lookup + download (median of ${n})`, of('proxy', first), of('direct', first), MILLIS, goals[0]),
    comparisonRow(`${what}: time to last byte, the same`, of('proxy', last), of('direct', last), MILLIS, goals[1]),
    comparisonRow(`${what}: the ${RELAY}, first byte (reference)`, of(RELAY, first), of('direct', first), MILLIS),
    comparisonRow(`${what}: the ${RELAY}, last byte (reference)`, of(RELAY, last), of('direct', last), MILLIS),
  ];
}

console.log(`$ npm run bench   # tsx bench/run.ts; clients: curl, wrk -t1; node ${process.version}; ${cpus().length} CPUs; proxy LOG_LEVEL=${LOG_LEVEL}`);
printTable(rows);
console.log(`(${fmt((Date.now() - started) / 1000, 0)} s)`);

function failWith(message: string): never {
  throw new Error(message);
}
