/** A fixed-duration HTTP load: wrk when installed (lighter, leaves more CPU to the servers), else autocannon. */
import { spawn, spawnSync } from 'node:child_process';
import autocannon from 'autocannon';

export type LoadTool = 'wrk' | 'autocannon';

export interface LoadResult {
  /** Completed requests. */
  readonly requests: number;
  readonly seconds: number;
  /** Non-2xx answers and socket errors: any makes the measurement invalid. */
  readonly failures: number;
}

export function pickLoadTool(): LoadTool {
  if (process.env.BENCH_LOAD_TOOL === 'autocannon') return 'autocannon';
  return spawnSync('wrk', ['-v']).error === undefined ? 'wrk' : 'autocannon';
}

export async function runLoad(tool: LoadTool, url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
  return tool === 'wrk' ? runWrk(url, headers, connections, seconds) : runAutocannon(url, headers, connections, seconds);
}

async function runAutocannon(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return { requests: result.requests.total, seconds: result.duration, failures: result.non2xx + result.errors };
}

async function runWrk(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`];
  for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
  args.push(url);
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const done = /(\d+) requests in ([\d.]+)(ms|s|m)\b/.exec(out);
  if (code !== 0 || done === null) throw new Error(`wrk failed (${code}): ${out}`);
  const unit = { ms: 0.001, s: 1, m: 60 }[done[3] as 'ms' | 's' | 'm'];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  return { requests: Number(done[1]), seconds: Number(done[2]) * unit, failures: non2xx + errors };
}
