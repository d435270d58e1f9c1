/**
 * The benchmark's HTTP client: curl, one process per client, so the load generator is never a Node
 * event loop sharing the benchmark's process (a fetch reading bodies next to the fakes tops out far
 * below what the servers can send). curl reads its whole configuration from stdin before it starts,
 * so a batch of clients is spawned first and released together: process start-up is not measured,
 * and tokens stay out of the process list.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface Transfer {
  readonly status: number;
  readonly bytes: number;
  /** curl's time_starttransfer: the first byte of the answer (its status line) arrived, ms. */
  readonly firstByteMs: number;
  /** curl's time_total: the last byte arrived, ms. */
  readonly totalMs: number;
}

export interface CurlClient {
  readonly urls: readonly string[];
  readonly headers?: Record<string, string>;
  /** POST this body (as is, `--data-binary`) instead of a GET. */
  readonly body?: string;
  /** curl --limit-rate, bytes/s: a slow reader. */
  readonly limitRate?: number;
}

// The marker keeps the timing line apart from a body written to stdout (the Graph lookup's JSON).
const MARK = '\n@@curl ';
// curl's -w turns the two characters `\n` into a newline.
const WRITE_OUT = '\\n@@curl %{http_code} %{size_download} %{time_starttransfer} %{time_total}\\n';

export function checkCurl(): void {
  if (spawnSync('curl', ['--version']).error !== undefined) throw new Error('curl is not installed: the benchmark needs it (apt-get install curl)');
}

/** A curl config file: one line per option, values quoted (curl's `-K` syntax). */
function config(client: CurlClient, keepBody: boolean): string {
  const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  const lines = ['silent', 'show-error', `write-out = ${quote(WRITE_OUT)}`];
  for (const [name, value] of Object.entries(client.headers ?? {})) lines.push(`header = ${quote(`${name}: ${value}`)}`);
  if (client.limitRate !== undefined) lines.push(`limit-rate = ${Math.round(client.limitRate)}`);
  if (client.body !== undefined) lines.push(`data-binary = ${quote(client.body)}`);
  for (const url of client.urls) {
    lines.push(`url = ${quote(url)}`);
    if (!keepBody) lines.push('output = "/dev/null"');
  }
  return `${lines.join('\n')}\n`;
}

interface Started {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; out: string; err: string }>;
}

function startCurl(): Started {
  const child = spawn('curl', ['--config', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
  return { child, done };
}

function parse(out: string): { transfers: Transfer[]; body: string } {
  const parts = out.split(MARK);
  const transfers = parts.slice(1).map((line) => {
    const [status, bytes, first, total] = line.trim().split(' ').map(Number);
    return { status: status!, bytes: bytes!, firstByteMs: first! * 1000, totalMs: total! * 1000 };
  });
  return { transfers, body: parts[0] ?? '' };
}

export interface Batch {
  /** One list of transfers per client, in its URLs' order. */
  readonly clients: readonly (readonly Transfer[])[];
  /** From releasing the clients to the last one's exit, ms. */
  readonly wallMs: number;
}

/** Runs the clients at once (released together) and waits for all of them. */
export async function curlBatch(clients: readonly CurlClient[]): Promise<Batch> {
  const started = clients.map(() => startCurl());
  // Let every process load and block on its stdin before the clock starts.
  await new Promise((r) => setTimeout(r, 30));
  const t0 = performance.now();
  started.forEach((s, i) => s.child.stdin!.end(config(clients[i]!, false)));
  const results = await Promise.all(started.map((s) => s.done));
  const wallMs = performance.now() - t0;
  return {
    wallMs,
    clients: results.map((r) => {
      if (r.code !== 0) throw new Error(`curl failed (${r.code}): ${r.err.trim()}`);
      return parse(r.out).transfers;
    }),
  };
}

/** One client, one URL. */
export async function curlOnce(url: string, headers?: Record<string, string>): Promise<Transfer> {
  return (await curlBatch([{ urls: [url], ...(headers ? { headers } : {}) }])).clients[0]![0]!;
}

/** One request whose answer is wanted (a Graph lookup's JSON), with its timing; a POST when `body` is given. */
export async function curlBody(url: string, headers: Record<string, string>, post?: string): Promise<{ transfer: Transfer; body: string }> {
  const s = startCurl();
  s.child.stdin!.end(config({ urls: [url], headers, ...(post === undefined ? {} : { body: post }) }, true));
  const r = await s.done;
  if (r.code !== 0) throw new Error(`curl failed (${r.code}): ${r.err.trim()}`);
  const { transfers, body } = parse(r.out);
  return { transfer: transfers[0]!, body };
}

export function expectTransfer(what: string, got: Transfer, bytes: number): void {
  if (got.status !== 200 || got.bytes !== bytes) throw new Error(`${what}: got ${got.status} with ${got.bytes} bytes, expected 200 with ${bytes}`);
}
