/**
 * An accepted job survives a crash: the real entrypoint (tsx src/node.ts) in a child process takes a
 * webhook delivery and a POST /prefetch, answers, and is SIGKILLed while the downloads cannot have
 * finished (Graph is held back); restarted in the same working directory, it replays its journal and
 * downloads the media without anyone asking, so the first view is a memory hit.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startChildProxy } from '../support/child-proxy.js';
import { FakeWhatsApp, makeBytes } from '../support/fake-whatsapp.js';
import { TEST_SECRET } from '../support/proxy-harness.js';
import { appSecret, deliveryOf, signature } from '../support/webhooks.js';
import { eventually } from '../support/eventually.js';

const WEBHOOK_ID = '920000000000001';
const PREFETCH_ID = '920000000000002';
const SECRET = appSecret();

let fake: FakeWhatsApp;
let cwd: string;
let running: ChildProcess | undefined;

beforeAll(async () => {
  fake = await new FakeWhatsApp().start();
  fake.addMedia(WEBHOOK_ID, { bytes: makeBytes(20_000, 3), mimeType: 'image/jpeg' });
  fake.addMedia(PREFETCH_ID, { bytes: makeBytes(30_000, 4), mimeType: 'video/mp4' });
  cwd = mkdtempSync(join(tmpdir(), 'wmp-durability-'));
});
afterEach(() => {
  if (running?.exitCode === null) running.kill('SIGKILL');
});
afterAll(async () => {
  await fake.stop();
  rmSync(cwd, { recursive: true, force: true });
});

async function token(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 600).sign(new TextEncoder().encode(TEST_SECRET));
}

describe('prefetch durability on Node', () => {
  // Three starts of the real entrypoint, seconds each on a loaded machine: hence the timeout.
  it('downloads the media of a delivery and of a prefetch after a SIGKILL right after the answers', async () => {
    const env = { WHATSAPP_APP_SECRET: SECRET, GRAPH_MAX_RETRIES: '0' };
    // The first lookups of both ids hang: the killed process cannot have finished either job.
    for (const id of [WEBHOOK_ID, PREFETCH_ID]) fake.scriptGraph(id, { status: 500, body: {}, delayMs: 30_000 });

    const first = await startChildProxy(fake, cwd, env);
    running = first.child;
    const base = `http://127.0.0.1:${first.port}`;
    const body = deliveryOf([WEBHOOK_ID]);
    const delivered = await fetch(`${base}/webhooks/whatsapp`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature(body, SECRET) } });
    expect(delivered.status).toBe(200);
    const prefetched = await fetch(`${base}/prefetch`, {
      method: 'POST',
      body: JSON.stringify({ media: [PREFETCH_ID] }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token({ media: '*', scope: 'media:prefetch' })}` },
    });
    expect(prefetched.status).toBe(202);
    // Both hanging lookups must have reached the fake before the kill: one still queued there would
    // hang the restarted process's lookup instead (seen under load).
    await eventually(() => fake.count('graph', WEBHOOK_ID) === 1 && fake.count('graph', PREFETCH_ID) === 1, () => 'both jobs to start', 15_000);
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(fake.count('cdn')).toBe(0);

    const second = await startChildProxy(fake, cwd, env);
    running = second.child;
    await eventually(() => fake.count('cdn', WEBHOOK_ID) === 1 && fake.count('cdn', PREFETCH_ID) === 1, () => `the replayed downloads (log: ${JSON.stringify(second.lines.map((l) => l.msg))})`, 15_000);
    expect(second.lines.find((l) => l.msg === 'prefetch jobs replayed from the journal')).toMatchObject({ jobs: 2 });

    // A job is marked done once its copies were committed. The CDN request is not enough: a view
    // sent while the download still runs joins it (seen under load) instead of hitting memory.
    const journal = join(cwd, 'data', 'media', '.prefetch-journal');
    const read = (name: string) => {
      try {
        return readFileSync(join(journal, name), 'utf8');
      } catch {
        return ''; // renamed away by a compaction
      }
    };
    const doneMarks = () => readdirSync(journal).flatMap((name) => read(name).split('\n')).filter((line) => line.includes('"op":"done"')).length;
    await eventually(() => doneMarks() >= 2, () => 'both jobs marked done in the journal', 15_000);

    // Ingested, not merely requested: the first view is answered from memory.
    const graphLookups = fake.count('graph');
    const view = await fetch(`http://127.0.0.1:${second.port}/media/${PREFETCH_ID}`, { headers: { authorization: `Bearer ${await token({ media: [PREFETCH_ID] })}` } });
    expect(view.status).toBe(200);
    expect(Buffer.from(await view.arrayBuffer()).equals(Buffer.from(makeBytes(30_000, 4)))).toBe(true);
    expect(fake.count('graph')).toBe(graphLookups);
    await eventually(() => second.lines.some((l) => l.msg === 'request' && l.path === `/media/${PREFETCH_ID}`), () => 'the request log line', 15_000);
    expect(second.lines.find((l) => l.msg === 'request' && l.path === `/media/${PREFETCH_ID}`)).toMatchObject({ cache: 'hit:memory' });

    // Done jobs are not replayed again by a third start.
    second.child.kill('SIGKILL');
    await second.exited;
    const third = await startChildProxy(fake, cwd, env);
    running = third.child;
    await new Promise((r) => setTimeout(r, 300));
    expect(third.lines.some((l) => l.msg === 'prefetch jobs replayed from the journal')).toBe(false);
    expect(fake.count('cdn')).toBe(2);
  }, 60_000);
});
