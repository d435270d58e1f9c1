/**
 * The real Node entrypoint (src/node.ts) in a child process, against the fake WhatsApp, for tests of
 * what only a process shows: a restart, a SIGKILL mid-write, two processes on one store directory.
 *
 * The child is node itself with tsx's loader (`node --import tsx`), not the tsx CLI: the CLI runs
 * the script in a grandchild, so a SIGKILL would reach the wrapper and leave the proxy running, and
 * /proc/<pid>/io would count the wrapper's reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SignJWT } from 'jose';
import type { FakeWhatsApp } from './fake-whatsapp.js';
import { TEST_SECRET } from './proxy-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface ChildProxy {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Parsed JSON log lines from stdout, as they come. */
  readonly lines: Array<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the port once the start line is out; rejects when the process exits first. */
  readonly listening: Promise<number>;
  stderr(): string;
  /** The port it listens on, once listening. */
  port(): number;
  /** http://127.0.0.1:<port>, once listening. */
  url(): string;
  /** A GET (or any method) with a caller token for every media id. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** Bytes the process has read through read(2)-like calls so far (files and sockets): /proc/<pid>/io rchar. */
  bytesRead(): number;
  /** The request log lines for `mediaId`, in order. */
  requestLines(mediaId: string): Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const children = new Set<ChildProcess>();

/** Kills (SIGKILL) every child still running: for afterEach/afterAll. */
export function killChildProxies(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

export function spawnProxy(options: { cwd: string; fake: FakeWhatsApp; env?: Record<string, string> }): ChildProxy {
  const { fake } = options;
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'src/node.ts')], {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH ?? '',
      WHATSAPP_TOKEN: fake.token,
      JWT_SECRET: TEST_SECRET,
      GRAPH_API_URL: fake.origin,
      MEDIA_HOSTS: '127.0.0.1',
      HOST: '127.0.0.1',
      PORT: '0',
      UPSTREAM_TIMEOUT_MS: '5000',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  let port: number | undefined;
  const listening = new Promise<number>((done, fail) => {
    let buffered = '';
    child.stdout!.on('data', (data: Buffer) => {
      buffered += data.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (typeof line.port === 'number' && String(line.msg).startsWith('listening')) done((port = line.port));
      }
    });
    void exited.then(({ code, signal }) => fail(new Error(`proxy exited (${code ?? signal}) before listening: ${stderr}`)));
  });
  listening.catch(() => {});
  const portOf = () => {
    if (port === undefined) throw new Error('the proxy is not listening yet');
    return port;
  };
  const url = () => `http://127.0.0.1:${portOf()}`;
  return {
    child,
    pid: child.pid!,
    lines,
    exited,
    listening,
    stderr: () => stderr,
    port: portOf,
    url,
    async request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${await callerToken()}`);
      return fetch(`${url()}${path}`, { ...init, headers });
    },
    bytesRead() {
      const rchar = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${child.pid}/io`, 'utf8'))?.[1];
      if (rchar === undefined) throw new Error('no rchar in /proc/<pid>/io');
      return Number(rchar);
    },
    requestLines: (mediaId) => lines.filter((l) => l.msg === 'request' && l.path === `/media/${mediaId}`),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      children.delete(child);
    },
  };
}

/** Spawns the proxy and waits for its start line. */
export async function startProxy(options: { cwd: string; fake: FakeWhatsApp; env?: Record<string, string> }): Promise<ChildProxy> {
  const proxy = spawnProxy(options);
  await proxy.listening;
  return proxy;
}

export async function callerToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ media: '*' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 600).sign(new TextEncoder().encode(TEST_SECRET));
}

/** Polls `check` every 20 ms until it holds (default: up to 10 s). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function bodyOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}
