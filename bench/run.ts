/**
 * `npm run bench`: the proxy (src/node.ts, the real entrypoint, in its own process) against the fake
 * WhatsApp (its own process) and the baselines, on loopback, printing ratios. Absolute numbers are
 * noise on a shared machine; ratios measured in the same run are what to compare. Exits non-zero only
 * when something breaks (a wrong answer, a crash), never because a goal was missed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { pickLoadTool } from './load.js';
import { killAllChildren, ROOT, startFake, startServer, type FakeProcess, type ServerProcess } from './processes.js';
import { measureCacheHit, measureColdMiss, measureSlowReaders, measureStream, median } from './scenarios.js';

const HIT_ROUNDS = 3;
const HIT_SECONDS = 3;
const HIT_CONNECTIONS = 16;
// One request at a time: nobody waits in a queue, so every response wakes the client and every
// request wakes the server. Closer to a proxy's usual, unsaturated day than 16 connections flat out.
const HIT_SINGLE_CONNECTION = 1;
const STREAM_ROUNDS = 2;
const STREAM_PER_CLIENT = 2;
const SLOW_READERS = 24;
const SLOW_READER_PAUSE_MS = 20;
const WATCHDOG_MS = 170_000;

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${WATCHDOG_MS / 1000} s; stopping`);
  killAllChildren();
  process.exit(2);
}, WATCHDOG_MS);
watchdog.unref();

const tool = pickLoadTool();
const secret = randomBytes(32).toString('hex');
const now = Math.floor(Date.now() / 1000);
const jwt = await new SignJWT({ media: '*' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 3600).sign(new TextEncoder().encode(secret));
// Empty working directory: a developer's .env must not change what is measured.
const cwd = mkdtempSync(join(tmpdir(), 'wmp-bench-'));
const nodeArgs = process.env.BENCH_PROXY_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];

function proxyEnv(fake: FakeProcess): Record<string, string> {
  return {
    WHATSAPP_TOKEN: fake.token,
    JWT_SECRET: secret,
    GRAPH_API_URL: fake.origin,
    MEDIA_HOSTS: '127.0.0.1',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  };
}
const startProxy = (fake: FakeProcess) => startServer('proxy', join(ROOT, 'src/node.ts'), proxyEnv(fake), { cwd, nodeArgs });
const RELAY = 'bare relay';

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const spread = (values: readonly number[], digits = 2) => `${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}`;

interface Row {
  readonly scenario: string;
  readonly proxy: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly goal: string;
  readonly met: boolean | undefined;
}

const started = Date.now();
const rows: Row[] = [];
let fake: FakeProcess | undefined;
const servers: ServerProcess[] = [];
try {
  fake = await startFake(cwd);
  const proxy = await startProxy(fake);
  const bare = await startServer('bare node:http', join(ROOT, 'bench/bare-server.ts'), {}, { cwd });
  const relay = await startServer(RELAY, join(ROOT, 'bench/relay-server.ts'), { GRAPH_API_URL: fake.origin, WHATSAPP_TOKEN: fake.token }, { cwd });
  servers.push(proxy, bare, relay);

  for (const connections of [HIT_CONNECTIONS, HIT_SINGLE_CONNECTION]) {
    const hits = await measureCacheHit(proxy, bare, jwt, tool, HIT_ROUNDS, HIT_SECONDS, connections);
    const of = (name: string) => hits.filter((h) => h.server === name);
    const proxyCpu = of('proxy').map((h) => h.cpuMicrosPerRequest);
    const bareCpu = of(bare.name).map((h) => h.cpuMicrosPerRequest);
    const cpuRatios = proxyCpu.map((p, i) => p / bareCpu[i]!);
    const cpuRatio = median(proxyCpu) / median(bareCpu);
    const saturated = connections === HIT_CONNECTIONS;
    rows.push({
      scenario: saturated
        ? `cache hit, 200 KiB + JWT: server CPU per request (${HIT_ROUNDS}×${HIT_SECONDS} s, ${connections} conns)`
        : `cache hit, the same with ${connections} connection (information: not saturated)`,
      proxy: `${fmt(median(proxyCpu), 1)} µs`,
      baseline: `${fmt(median(bareCpu), 1)} µs`,
      ratio: `${fmt(cpuRatio)}× (rounds ${spread(cpuRatios)})`,
      goal: saturated ? '≤ 1.15×' : '—',
      met: saturated ? cpuRatio <= 1.15 : undefined,
    });
    if (!saturated) continue;
    const proxyRps = of('proxy').map((h) => h.requestsPerSecond);
    const bareRps = of(bare.name).map((h) => h.requestsPerSecond);
    rows.push({
      scenario: 'cache hit: requests/s (information; the load generator shares the CPU)',
      proxy: fmt(median(proxyRps), 0),
      baseline: fmt(median(bareRps), 0),
      ratio: `${fmt(median(proxyRps) / median(bareRps))}×`,
      goal: '—',
      met: undefined,
    });
  }

  const streams = await measureStream([proxy, relay], fake, jwt, STREAM_ROUNDS, STREAM_PER_CLIENT);
  const throughput = (via: string) => streams.filter((s) => s.via === via).map((s) => s.megabytesPerSecond);
  const direct = throughput('direct');
  for (const via of ['proxy', RELAY]) {
    const through = throughput(via);
    const streamRatio = median(through) / median(direct);
    const isProxy = via === 'proxy';
    rows.push({
      scenario: isProxy
        ? `stream 20 MiB, 4 clients × ${STREAM_PER_CLIENT}: MB/s vs straight from the fake CDN`
        : `stream, the same through the ${RELAY} (reference: no auth, no sha256, node:http pipe)`,
      proxy: `${fmt(median(through), 0)} MB/s`,
      baseline: `${fmt(median(direct), 0)} MB/s`,
      ratio: `${fmt(streamRatio)}× (rounds ${spread(through.map((p, i) => p / direct[i]!))})`,
      goal: isProxy ? '≥ 0.90×' : '—',
      met: isProxy ? streamRatio >= 0.9 : undefined,
    });
  }

  const cold = await measureColdMiss([proxy, relay], fake, jwt);
  const latency = (via: string) => cold.filter((s) => s.via === via).map((s) => s.ms);
  const coldDirect = latency('direct');
  for (const via of ['proxy', RELAY]) {
    const through = latency(via);
    const coldRatio = median(through) / median(coldDirect);
    const isProxy = via === 'proxy';
    rows.push({
      scenario: isProxy
        ? `cold miss, 64 KiB: latency vs Graph lookup + download by the client (median of ${through.length})`
        : `cold miss, the same through the ${RELAY} (reference)`,
      proxy: `${fmt(median(through))} ms`,
      baseline: `${fmt(median(coldDirect))} ms`,
      ratio: `${fmt(coldRatio)}× (${coldRatio >= 1 ? '+' : '−'}${fmt(Math.abs(coldRatio - 1) * 100, 0)} %)`,
      goal: isProxy ? '≤ 1.25×' : '—',
      met: isProxy ? coldRatio <= 1.25 : undefined,
    });
  }
  await proxy.stop();
  await bare.stop();
  await relay.stop();

  // A fresh proxy, so what earlier scenarios left on the heap does not hide or inflate the growth.
  const fresh = await startProxy(fake);
  servers.push(fresh);
  const memory = await measureSlowReaders(fresh, jwt, SLOW_READERS, SLOW_READER_PAUSE_MS);
  const growthMiB = (memory.peakRss - memory.baselineRss) / 2 ** 20;
  rows.push({
    scenario: `memory: peak RSS growth, ${SLOW_READERS} slow readers of a 12 MiB file (${fmt(memory.seconds, 1)} s)`,
    proxy: `${fmt(growthMiB, 1)} MiB`,
    baseline: `${fmt(memory.baselineRss / 2 ** 20, 0)} MiB before`,
    ratio: '—',
    goal: '≤ 64 MiB',
    met: growthMiB <= 64,
  });
  await fresh.stop();
} finally {
  for (const server of servers) await server.stop().catch(() => {});
  fake?.stop();
  rmSync(cwd, { recursive: true, force: true });
}

const header: Row = { scenario: 'scenario', proxy: 'proxy', baseline: 'baseline', ratio: 'ratio', goal: 'goal', met: undefined };
const cells = (r: Row) => [r.scenario, r.proxy, r.baseline, r.ratio, r.goal, r === header ? 'result' : r.met === undefined ? '—' : r.met ? 'met' : 'missed'];
const table = [header, ...rows].map(cells);
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;

console.log(`$ npm run bench   # tsx bench/run.ts; load: ${tool === 'wrk' ? 'wrk -t1' : 'autocannon'}; node ${process.version}; ${cpus().length} CPUs; proxy LOG_LEVEL=${proxyEnv({ origin: '', token: '', stop() {} }).LOG_LEVEL}`);
console.log(line(table[0]!));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table.slice(1)) console.log(line(row));
console.log(`(${fmt((Date.now() - started) / 1000, 0)} s)`);
