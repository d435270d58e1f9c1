/**
 * The real Node entrypoint, run as `npm start` runs it (src/node.ts through tsx's loader) in a child
 * process, with exactly the environment given (plus PATH): no developer .env is read when `cwd` is
 * an empty directory. Used by the entrypoint tests and by `npm run demo`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');
// `node --import <tsx>` rather than the tsx CLI: the CLI is a second process that relays signals
// and SIGKILLs the child when it does not acknowledge one within 2 × 30 ms (seen on a loaded
// machine: exit 143 instead of the graceful shutdown). Here SIGTERM reaches the proxy itself, a
// SIGKILL kills the proxy (not a wrapper that would leave it running), and /proc/<pid> is the proxy's.
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface ProxyProcess {
  readonly child: ChildProcess;
  /** The port the proxy said it listens on (start it with PORT=0 for a free one). */
  readonly port: number;
  /** Every JSON log line the proxy wrote to stdout so far, parsed. */
  readonly lines: Array<Record<string, unknown>>;
  /** How it ended, once it has exited and its stdout and stderr are read to the end ('close'). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A proxy process that may not get to listen (a start refused by its configuration). */
export interface SpawnedProxyProcess extends Omit<ProxyProcess, 'port'> {
  /** Resolves with the port once the start line is out; rejects when the process exits first. */
  readonly listening: Promise<number>;
  /** What it wrote to stderr so far (also passed through to this process's stderr). */
  stderr(): string;
}

export function spawnProxyProcess(options: { readonly cwd: string; readonly env: Record<string, string> }): SpawnedProxyProcess {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, 'src/node.ts')], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('close', (code, signal) => done({ code, signal })));
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => {
    stderr += data.toString();
    process.stderr.write(data);
  });
  const listening = new Promise<number>((done, fail) => {
    let buffered = '';
    child.stdout!.on('data', (data: Buffer) => {
      buffered += data.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        lines.push(line);
        if (typeof line.port === 'number' && String(line.msg).startsWith('listening')) done(line.port);
      }
    });
    void exited.then(({ code, signal }) => fail(new Error(`proxy exited with ${code ?? signal} before listening`)));
  });
  listening.catch(() => {});
  return { child, lines, exited, listening, stderr: () => stderr };
}

export async function startProxyProcess(options: { readonly cwd: string; readonly env: Record<string, string> }): Promise<ProxyProcess> {
  const { child, lines, exited, listening } = spawnProxyProcess(options);
  return { child, port: await listening, lines, exited };
}
