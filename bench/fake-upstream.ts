/**
 * The fake Graph + CDN (test/support/fake-whatsapp.ts) in a process of its own, so its CPU is not
 * the load generator's or the proxy's. Reports its origin and token over IPC.
 *
 * Network shape: FAKE_LATENCY_MS (before each Graph answer and each CDN answer's headers) and
 * FAKE_BYTES_PER_SECOND (CDN body pace) at start; at run time an IPC message
 * `{ type: 'network', latencyMs?, bytesPerSecond? }`. `{ type: 'count', kind, mediaId }` asks how
 * many requests of that kind the fake has seen for the id (to check a store hit asked upstream
 * nothing). Every message is answered with its `seq`.
 */
import { EventEmitter } from 'node:events';
import { FakeWhatsApp, type FakeNetwork } from '../test/support/fake-whatsapp.js';
import { benchMediaSet } from './media-set.js';

export type FakeQuestion = { readonly seq: number } & ({ readonly type: 'network'; readonly network: FakeNetwork } | { readonly type: 'count'; readonly kind: 'graph' | 'cdn'; readonly mediaId: string });
export interface FakeAnswer {
  readonly seq: number;
  readonly count?: number;
}

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${value}`);
  return n;
}

// The fake waits for 'drain' with a 'close' listener that stays until the response ends, so a 20 MiB
// body at full speed piles up more than the default 10 listeners: expected here, not a leak.
EventEmitter.defaultMaxListeners = 1000;
const latencyMs = envNumber('FAKE_LATENCY_MS');
const bytesPerSecond = envNumber('FAKE_BYTES_PER_SECOND');
const fake = await new FakeWhatsApp({ network: { ...(latencyMs === undefined ? {} : { latencyMs }), ...(bytesPerSecond === undefined ? {} : { bytesPerSecond }) } }).start();
// `npm run bench:profile cold` asks for more never-requested ids than the benchmark's samples.
for (const m of benchMediaSet({ coldIds: envNumber('BENCH_COLD_IDS') })) fake.addMedia(m.meta.id, { bytes: m.bytes, mimeType: m.meta.mimeType });
// The fake remembers every request it saw, and a benchmark makes tens of thousands: keep counts only.
const seen = new Map<string, number>();
setInterval(() => {
  for (const r of fake.requests.splice(0)) seen.set(`${r.kind} ${r.mediaId}`, (seen.get(`${r.kind} ${r.mediaId}`) ?? 0) + 1);
}, 1000).unref();
process.on('message', (question: FakeQuestion) => {
  let answer: FakeAnswer = { seq: question.seq };
  if (question.type === 'network') fake.setNetwork(question.network);
  else answer = { ...answer, count: (seen.get(`${question.kind} ${question.mediaId}`) ?? 0) + fake.count(question.kind, question.mediaId) };
  process.send?.(answer);
});
process.send?.({ origin: fake.origin, token: fake.token });
process.on('SIGTERM', () => process.exit(0));
