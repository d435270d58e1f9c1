/**
 * `npm run bench:profile [hit|stream|cold]`: runs the proxy under `node --cpu-prof` while one scenario
 * loads it, then prints where its CPU went: the top functions by self time, and self time by origin
 * (our src/, hono, @hono/node-server, undici, node internals, …).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { pickLoadTool, runLoad } from './load.js';
import { coldId, HIT_IMAGE, STREAM_ID } from './media-set.js';
import { ROOT, startFake, startServer } from './processes.js';

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

const scenario = process.argv[2] ?? 'hit';
if (scenario !== 'hit' && scenario !== 'stream' && scenario !== 'cold') throw new Error('usage: profile.ts [hit|stream|cold]');
// Cold misses one after another, each for an id never asked for: more than the seconds can use.
const COLD_IDS = 4000;
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
    { WHATSAPP_TOKEN: fake.token, JWT_SECRET: secret, GRAPH_API_URL: fake.origin, MEDIA_HOSTS: '127.0.0.1', HOST: '127.0.0.1', LOG_LEVEL: process.env.PROFILE_LOG_LEVEL ?? 'info' },
    { cwd, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] },
  );
  const headers = { authorization: `Bearer ${jwt}` };
  if (scenario === 'hit') {
    await runLoad(pickLoadTool(), `${proxy.url}/media/${HIT_IMAGE.meta.id}`, headers, 16, seconds);
  } else if (scenario === 'cold') {
    const deadline = Date.now() + seconds * 1000;
    let n = 0;
    for (; n < COLD_IDS && Date.now() < deadline; n++) {
      const res = await fetch(`${proxy.url}/media/${coldId(n)}`, { headers });
      if (res.status !== 200) throw new Error(`cold miss answered ${res.status}`);
      await res.arrayBuffer();
    }
    console.log(`# ${n} cold misses`);
  } else {
    const agent = new Agent({ keepAlive: true });
    const deadline = Date.now() + seconds * 1000;
    const client = async () => {
      while (Date.now() < deadline) {
        await new Promise<void>((resolve, reject) => get(`${proxy.url}/media/${STREAM_ID}`, { headers, agent }, (res) => res.on('data', () => {}).on('end', resolve).on('error', reject)).on('error', reject));
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    agent.destroy();
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
