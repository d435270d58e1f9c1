/**
 * `npm run bench:profile [hit|stream|distinct|cold|realistic|store]`: runs the proxy under `node --cpu-prof`
 * while one scenario loads it (wrk or curl processes, as in the benchmark), then prints where its CPU
 * went: the top functions by self time, and self time by origin (our src/, hono, @hono/node-server,
 * undici, node internals, …). `realistic` is the cold miss of a 2 MiB photo over the benchmark's
 * realistic upstream; `stream` is four callers of one 20 MiB id, `distinct` four callers of four ids
 * (nothing shared); `store` is 20 MiB store hits (needs the store).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { curlBatch, curlOnce, expectTransfer } from './curl.js';
import { checkWrk, runLoad } from './load.js';
import { COLD, DISTINCT_STREAM_IDS, HIT_IMAGE, PHOTO, STREAM_BYTES, STREAM_ID, type ColdSet } from './media-set.js';
import { ROOT, startFake, startServer } from './processes.js';
import { bearer } from './scenarios.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const SCENARIOS = ['hit', 'stream', 'distinct', 'cold', 'realistic', 'store'] as const;
const scenario = process.argv[2] ?? 'hit';
if (!(SCENARIOS as readonly string[]).includes(scenario)) throw new Error(`usage: profile.ts [${SCENARIOS.join('|')}]`);
// Cold misses one after another, each for an id never asked for: more than the seconds can use.
const COLD_IDS = 1500;
const seconds = Number(process.env.PROFILE_SECONDS ?? 6);

const secret = randomBytes(32).toString('hex');
const now = Math.floor(Date.now() / 1000);
const jwt = await new SignJWT({ media: '*' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 3600).sign(new TextEncoder().encode(secret));
const cwd = mkdtempSync(join(tmpdir(), 'wmp-profile-'));
const profileDir = join(cwd, 'profiles');

const fake = await startFake(cwd, scenario === 'cold' ? { BENCH_COLD_IDS: String(COLD_IDS) } : {});
try {
  const proxy = await startServer(
    'proxy',
    join(ROOT, 'src/node.ts'),
    {
      WHATSAPP_TOKEN: fake.token,
      JWT_SECRET: secret,
      GRAPH_API_URL: fake.origin,
      MEDIA_HOSTS: '127.0.0.1',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.PROFILE_LOG_LEVEL ?? 'info',
      // Streams are profiled without a store (the second download would be a store hit); the others with one.
      STORE_URL: scenario === 'stream' || scenario === 'distinct' ? 'none' : `file:${join(cwd, 'store')}`,
    },
    { cwd, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] },
  );
  const headers = bearer(jwt);
  const deadline = Date.now() + seconds * 1000;
  const coldMisses = async (set: ColdSet, limit: number) => {
    let n = 0;
    for (; n < limit && Date.now() < deadline; n++) expectTransfer('cold miss', await curlOnce(`${proxy.url}/media/${set.id(n)}`, headers), set.bytes);
    console.log(`# ${n} cold misses of ${set.name}`);
  };
  const streams = async (ids: readonly string[]) => {
    while (Date.now() < deadline) {
      const batch = await curlBatch(ids.map((id) => ({ urls: [`${proxy.url}/media/${id}`], headers })));
      for (const t of batch.clients.flat()) expectTransfer('stream', t, STREAM_BYTES);
    }
  };
  if (scenario === 'hit') {
    checkWrk();
    await runLoad(`${proxy.url}/media/${HIT_IMAGE.meta.id}`, headers, 16, seconds);
  } else if (scenario === 'cold') {
    await coldMisses({ ...COLD, count: COLD_IDS }, COLD_IDS);
  } else if (scenario === 'realistic') {
    await fake.setNetwork({ latencyMs: 40, bytesPerSecond: 25_000_000 });
    await coldMisses(PHOTO, PHOTO.count);
  } else if (scenario === 'store') {
    // Two downloads first: the first fills the store, the second proves it is served from there.
    for (let i = 0; i < 2; i++) expectTransfer('fill the store', await curlOnce(`${proxy.url}/media/${STREAM_ID}`, headers), STREAM_BYTES);
    const cdn = await fake.count('cdn', STREAM_ID);
    await streams(DISTINCT_STREAM_IDS.map(() => STREAM_ID));
    if ((await fake.count('cdn', STREAM_ID)) !== cdn) throw new Error('store profile: the proxy downloaded the file again');
  } else {
    await streams(scenario === 'distinct' ? DISTINCT_STREAM_IDS : DISTINCT_STREAM_IDS.map(() => STREAM_ID));
  }
  await proxy.stop();
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no profile written');
  summarise(JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile);
  // KEEP_PROFILE=<file>: keep the raw profile, to open in Chrome DevTools or speedscope.
  if (process.env.KEEP_PROFILE) copyFileSync(join(profileDir, file), process.env.KEEP_PROFILE);
} finally {
  fake.stop();
  rmSync(cwd, { recursive: true, force: true });
}

function origin(url: string): string {
  if (url === '') return '(native/vm)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.includes('/src/')) return 'src/ (ours)';
  return url;
}

function summarise(profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^file:\/\/.*?\/(node_modules|src|bench|test)\//, '$1/')}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    byOrigin.set(origin(url), (byOrigin.get(origin(url)) ?? 0) + micros);
  }
  // Inclusive time: a function's own samples plus its callees', counted once per stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, micros] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!url.includes('/src/') && !url.includes('node_modules/hono') && !url.includes('@hono')) continue;
      const key = `${functionName || '(anonymous)'} ${url.replace(/^file:\/\/.*?\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + micros);
    }
  }
  const pct = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)} %`;
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((s, [, m]) => s + m, 0);
  console.log(`# ${scenario}: ${(total / 1e6).toFixed(1)} s sampled, ${pct(idle).trim()} idle`);
  console.log('\ntop functions by self time:');
  for (const [key, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(micros)}  ${key}`);
  console.log('\ninclusive time of our and hono frames:');
  for (const [key, micros] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(micros)}  ${key}`);
  console.log('\nself time by origin:');
  for (const [key, micros] of [...byOrigin].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${pct(micros)}  ${key}`);
}
