/**
 * The fake's network switches (latency, bandwidth) really delay and pace, over real HTTP. Tolerances
 * are generous on purpose: this shows the switches work on a busy machine, it is not a timing test.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { expectSameBytes } from './bytes.js';
import { FakeWhatsApp, makeBytes, type FakeWhatsAppOptions } from './fake-whatsapp.js';

const ID = '424242';
const BYTES = makeBytes(1024 * 1024, 7);
let fake: FakeWhatsApp | undefined;

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

async function startFake(options?: FakeWhatsAppOptions): Promise<FakeWhatsApp> {
  fake = await new FakeWhatsApp(options).start();
  return fake.addMedia(ID, { bytes: BYTES, mimeType: 'video/mp4' });
}

/** Graph lookup: how long it took, and the CDN URL it answered. */
async function lookup(f: FakeWhatsApp): Promise<{ ms: number; url: string }> {
  const started = performance.now();
  const res = await fetch(`${f.origin}/${DEFAULTS.GRAPH_API_VERSION}/${ID}`, { headers: { authorization: `Bearer ${f.token}` } });
  const body = (await res.json()) as { url: string };
  expect(res.status).toBe(200);
  return { ms: performance.now() - started, url: body.url };
}

/** CDN download: time to the response headers, time to the last byte, the bytes, and how many reads. */
async function download(f: FakeWhatsApp, url: string): Promise<{ headersMs: number; totalMs: number; bytes: Uint8Array; reads: number }> {
  const started = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${f.token}`, 'user-agent': 'fake-network-test' } });
  const headersMs = performance.now() - started;
  expect(res.status).toBe(200);
  const chunks: Uint8Array[] = [];
  const reader = res.body!.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  return { headersMs, totalMs: performance.now() - started, bytes: Buffer.concat(chunks), reads: chunks.length };
}

describe('FakeWhatsApp network switches', () => {
  it('waits the latency before each Graph answer and before each CDN answer\'s headers', async () => {
    const f = await startFake({ network: { latencyMs: 200 } });
    const graph = await lookup(f);
    const cdn = await download(f, graph.url);
    expect(graph.ms).toBeGreaterThanOrEqual(190);
    expect(cdn.headersMs).toBeGreaterThanOrEqual(190);
    expect(graph.ms).toBeLessThan(2000);
    expectSameBytes(cdn.bytes, BYTES);
  });

  it('sends a body at the configured bandwidth, in many paced writes, bytes intact', async () => {
    // 1 MiB at 4 MB/s: about 260 ms; at loopback speed a few milliseconds.
    const f = await startFake({ network: { bytesPerSecond: 4_000_000 } });
    const cdn = await download(f, (await lookup(f)).url);
    expect(cdn.totalMs - cdn.headersMs).toBeGreaterThanOrEqual(200);
    expect(cdn.totalMs).toBeLessThan(3000);
    expect(cdn.reads).toBeGreaterThan(10);
    expectSameBytes(cdn.bytes, BYTES);
  });

  it('changes latency and bandwidth at run time, for the answers after the change', async () => {
    // A long latency, so "no latency" can be told apart from it even on a loaded machine.
    const f = await startFake();
    const lookupAndDownload = async () => {
      const graph = await lookup(f);
      return { graph, cdn: await download(f, graph.url) };
    };
    const before = await lookupAndDownload();
    f.setNetwork({ latencyMs: 800, bytesPerSecond: 4_000_000 });
    const slow = await lookupAndDownload();
    f.setNetwork({});
    const after = await lookupAndDownload();

    expect(slow.graph.ms).toBeGreaterThanOrEqual(790);
    expect(slow.cdn.headersMs).toBeGreaterThanOrEqual(790);
    expect(slow.cdn.totalMs - slow.cdn.headersMs).toBeGreaterThanOrEqual(200);
    for (const fast of [before, after]) {
      expect(fast.graph.ms).toBeLessThan(600);
      expect(fast.cdn.totalMs).toBeLessThan(600);
    }
    expectSameBytes(slow.cdn.bytes, BYTES);
  });

  it('refuses a negative latency or a bandwidth that is not positive', async () => {
    expect(() => new FakeWhatsApp({ network: { latencyMs: -1 } })).toThrow(RangeError);
    const f = await startFake();
    expect(() => f.setNetwork({ bytesPerSecond: 0 })).toThrow(RangeError);
  });
});
