/**
 * The real Node entrypoint (src/node.ts through tsx, as `npm start` runs it) in a child process against a
 * FakeWhatsApp, listening on 127.0.0.1 port 0; its JSON log lines are collected from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { FakeWhatsApp } from './fake-whatsapp.js';
import { TEST_SECRET } from './proxy-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface ChildProxy {
  readonly child: ChildProcess;
  readonly port: number;
  readonly lines: Array<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `cwd` should be an empty directory of the test's own: no developer .env gets loaded. */
export async function startChildProxy(fake: FakeWhatsApp, cwd: string, env: Record<string, string>): Promise<ChildProxy> {
  // node with tsx's loader rather than the tsx CLI: the CLI runs the script in a grandchild process,
  // which a SIGKILL sent to the CLI leaves running.
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/node.ts')], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      WHATSAPP_TOKEN: fake.token,
      JWT_SECRET: TEST_SECRET,
      GRAPH_API_URL: fake.origin,
      MEDIA_HOSTS: '127.0.0.1',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const lines: Array<Record<string, unknown>> = [];
  const port = await new Promise<number>((done, fail) => {
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
    void exited.then(({ code }) => fail(new Error(`proxy exited with ${code} before listening`)));
  });
  return { child, port, lines, exited };
}
