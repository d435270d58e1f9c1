/**
 * A fixed-duration HTTP load with wrk, in a process of its own: a client light enough not to be the
 * bottleneck (a Node load generator next to the servers managed ~300 req/s of 200 KiB bodies here).
 */
import { spawn, spawnSync } from 'node:child_process';

export interface LoadResult {
  /** Completed requests. */
  readonly requests: number;
  readonly seconds: number;
  /** Non-2xx answers and socket errors: any makes the measurement invalid. */
  readonly failures: number;
}

export function checkWrk(): void {
  if (spawnSync('wrk', ['-v']).error !== undefined) throw new Error('wrk is not installed: the cache-hit rows need it (apt-get install wrk)');
}

export async function runLoad(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<LoadResult> {
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
