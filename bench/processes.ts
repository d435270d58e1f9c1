/** Starting and stopping the benchmark's child processes, and asking them about their usage. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FakeNetwork } from '../test/support/fake-whatsapp.js';
import type { FakeAnswer, FakeQuestion } from './fake-upstream.js';
import type { UsageAnswer, UsageQuestion } from './with-usage-report.js';

const TSX_LOADER = import.meta.resolve('tsx');
const WITH_USAGE = fileURLToPath(new URL('./with-usage-report.ts', import.meta.url));
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

const children = new Set<ChildProcess>();
/** Whatever happens to the benchmark, its children do not outlive it. */
export function killAllChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}
process.on('exit', killAllChildren);

function spawnTs(script: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; nodeArgs?: readonly string[] }): ChildProcess {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', TSX_LOADER, script, ...args], {
    cwd: options.cwd,
    env: options.env,
    // Server logs go nowhere: writing them is part of the measured cost, reading them is not.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  usage(type?: UsageQuestion['type']): Promise<UsageAnswer>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitForPort(port: number, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not listen on ${port} within 30 s`);
}

/** Runs `module` (a server that listens on $PORT) under with-usage-report.ts. */
export async function startServer(name: string, module: string, env: Record<string, string>, options: { cwd: string; nodeArgs?: readonly string[] }): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawnTs(WITH_USAGE, [module], { env: { PATH: process.env.PATH, ...env, PORT: String(port) }, ...options });
  await waitForPort(port, child, name);
  let nextId = 0;
  return {
    name,
    pid: child.pid!,
    port,
    url: `http://127.0.0.1:${port}`,
    usage(type = 'usage') {
      const id = nextId++;
      return new Promise((resolve) => {
        const onMessage = (answer: UsageAnswer) => {
          if (answer.id !== id) return;
          child.off('message', onMessage);
          resolve(answer);
        };
        child.on('message', onMessage);
        child.send({ id, type } satisfies UsageQuestion);
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface FakeProcess {
  readonly origin: string;
  readonly token: string;
  /** Latency and bandwidth for every answer from now on. */
  setNetwork(network: FakeNetwork): Promise<void>;
  /** Requests of this kind the fake has seen for the id. */
  count(kind: 'graph' | 'cdn', mediaId: string): Promise<number>;
  stop(): void;
}

type Question = FakeQuestion extends infer Q ? (Q extends FakeQuestion ? Omit<Q, 'seq'> : never) : never;

export async function startFake(cwd: string, env: Record<string, string> = {}): Promise<FakeProcess> {
  const child = spawnTs(fileURLToPath(new URL('./fake-upstream.ts', import.meta.url)), [], { env: { PATH: process.env.PATH, ...env }, cwd });
  const ready = await new Promise<{ origin: string; token: string }>((resolve, reject) => {
    child.once('message', (m: { origin: string; token: string }) => resolve(m));
    child.once('exit', (code) => reject(new Error(`fake upstream exited with ${code}`)));
  });
  let seq = 0;
  const ask = (question: Question) =>
    new Promise<FakeAnswer>((resolve) => {
      const mine = seq++;
      const onMessage = (answer: FakeAnswer) => {
        if (answer.seq !== mine) return;
        child.off('message', onMessage);
        resolve(answer);
      };
      child.on('message', onMessage);
      child.send({ ...question, seq: mine } as FakeQuestion);
    });
  return {
    ...ready,
    setNetwork: async (network) => void (await ask({ type: 'network', network })),
    count: async (kind, mediaId) => (await ask({ type: 'count', kind, mediaId })).count ?? 0,
    stop: () => void child.kill('SIGTERM'),
  };
}
