/**
 * The fake Graph + CDN (test/support/fake-whatsapp.ts) in a process of its own, so its CPU is not
 * the load generator's or the proxy's. Reports its origin and token over IPC.
 */
import { EventEmitter } from 'node:events';
import { FakeWhatsApp } from '../test/support/fake-whatsapp.js';
import { COLD_IDS, coldMedia, HIT_IMAGE, slowMedia, streamMedia } from './media-set.js';

// The fake waits for 'drain' with a 'close' listener that stays until the response ends, so a 20 MiB
// body at full speed piles up more than the default 10 listeners: expected here, not a leak.
EventEmitter.defaultMaxListeners = 1000;
const fake = await new FakeWhatsApp().start();
for (const m of [HIT_IMAGE, streamMedia(), slowMedia()]) fake.addMedia(m.meta.id, { bytes: m.bytes, mimeType: m.meta.mimeType });
// `npm run bench:profile cold` asks for more never-requested ids than the benchmark's samples.
const coldIds = Number(process.env.BENCH_COLD_IDS ?? COLD_IDS);
for (let n = 0; n < coldIds; n++) {
  const m = coldMedia(n);
  fake.addMedia(m.meta.id, { bytes: m.bytes, mimeType: m.meta.mimeType });
}
// The fake remembers every request it saw; a benchmark makes tens of thousands.
setInterval(() => fake.requests.splice(0), 1000).unref();
process.send?.({ origin: fake.origin, token: fake.token });
process.on('SIGTERM', () => process.exit(0));
