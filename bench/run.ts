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
import { measureCacheHit, measureColdMiss, measureSlowReaders, measureStream, median, type HitRound } from './scenarios.js';

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

/**
 * How a comparison is shown: `rounds` gives the spread of the per-round ratios (samples paired by
 * round); `percent` gives the overhead instead (single requests, too noisy to pair one by one).
 */
interface Shown {
  readonly unit: string;
  readonly digits: number;
  readonly spread: 'rounds' | 'percent';
}
const MICROS: Shown = { unit: ' µs', digits: 1, spread: 'rounds' };
const PER_SECOND: Shown = { unit: '', digits: 0, spread: 'rounds' };
const MEGABYTES_PER_SECOND: Shown = { unit: ' MB/s', digits: 0, spread: 'rounds' };
const MILLIS: Shown = { unit: ' ms', digits: 2, spread: 'percent' };

/** One row: the median of `measured` against the median of `baseline`, taken in the same run. */
function comparisonRow(scenario: string, measured: readonly number[], baseline: readonly number[], shown: Shown, goal?: { readonly text: string; readonly met: (ratio: number) => boolean }): Row {
  const ratio = median(measured) / median(baseline);
  const detail =
    shown.spread === 'rounds'
      ? `rounds ${spread(measured.map((m, i) => m / baseline[i]!))}`
      : `${ratio >= 1 ? '+' : '−'}${fmt(Math.abs(ratio - 1) * 100, 0)} %`;
  return {
    scenario,
    proxy: `${fmt(median(measured), shown.digits)}${shown.unit}`,
    baseline: `${fmt(median(baseline), shown.digits)}${shown.unit}`,
    ratio: `${fmt(ratio)}× (${detail})`,
    goal: goal?.text ?? '—',
    met: goal?.met(ratio),
  };
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
    const of = (name: string, pick: (h: HitRound) => number) => hits.filter((h) => h.server === name).map(pick);
    const cpu = (h: HitRound) => h.cpuMicrosPerRequest;
    if (connections === HIT_CONNECTIONS) {
      rows.push(
        comparisonRow(`cache hit, 200 KiB + JWT: server CPU per request (${HIT_ROUNDS}×${HIT_SECONDS} s, ${connections} conns)`, of('proxy', cpu), of(bare.name, cpu), MICROS, { text: '≤ 1.15×', met: (r) => r <= 1.15 }),
        comparisonRow('cache hit: requests/s (information; the load generator shares the CPU)', of('proxy', (h) => h.requestsPerSecond), of(bare.name, (h) => h.requestsPerSecond), PER_SECOND),
      );
    } else {
      rows.push(comparisonRow(`cache hit, the same with ${connections} connection (information: not saturated)`, of('proxy', cpu), of(bare.name, cpu), MICROS));
    }
  }

  const streams = await measureStream([proxy, relay], fake, jwt, STREAM_ROUNDS, STREAM_PER_CLIENT);
  const throughput = (via: string) => streams.filter((s) => s.via === via).map((s) => s.megabytesPerSecond);
  rows.push(
    comparisonRow(`stream 20 MiB, 4 clients × ${STREAM_PER_CLIENT}: MB/s vs straight from the fake CDN`, throughput('proxy'), throughput('direct'), MEGABYTES_PER_SECOND, { text: '≥ 0.90×', met: (r) => r >= 0.9 }),
    comparisonRow(`stream, the same through the ${RELAY} (reference: no auth, no sha256, node:http pipe)`, throughput(RELAY), throughput('direct'), MEGABYTES_PER_SECOND),
  );

  const cold = await measureColdMiss([proxy, relay], fake, jwt);
  const latency = (via: string) => cold.filter((s) => s.via === via).map((s) => s.ms);
  rows.push(
    comparisonRow(`cold miss, 64 KiB: latency vs Graph lookup + download by the client (median of ${latency('proxy').length})`, latency('proxy'), latency('direct'), MILLIS, { text: '≤ 1.25×', met: (r) => r <= 1.25 }),
    comparisonRow(`cold miss, the same through the ${RELAY} (reference)`, latency(RELAY), latency('direct'), MILLIS),
  );
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
