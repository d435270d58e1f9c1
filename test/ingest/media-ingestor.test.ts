/** The prefetch ingestor over the tiers: with a store, a job is done only when the store has the file. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inlineBackground } from '../../src/cache/media-tier.js';
import { bodyBytes } from '../support/bytes.js';
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { openTempStore, type TempStore } from '../support/temp-store.js';

const ID = '660000000000001';
const key = { account: 'default', id: ID };

describe('tier ingestor', () => {
  let h: Harness;
  let temp: TempStore;
  beforeEach(async () => {
    temp = await openTempStore();
    h = await startHarness({ deps: { store: temp.store } });
    h.fake.addMedia(ID, { bytes: makeBytes(20_000, 66), mimeType: 'image/jpeg' });
  });
  afterEach(async () => {
    await h.close();
    await temp.remove();
  });

  it('does not count a copy held only in memory as stored, and ingests it into the store', async () => {
    await bodyBytes(await h.get(`/media/${ID}`));
    await h.proxy.loader.drain();
    // The store lost it (it was down when the viewer came, or was wiped); memory still has it.
    await temp.store.delete(key, inlineBackground);
    expect(h.proxy.memory.entries).toBe(1);
    expect(await h.proxy.ingestor.isStored('default', ID)).toBe(false);
    await h.proxy.ingestor.ingest('default', ID);
    expect(await temp.store.get(key)).toBeDefined();
    expect(await h.proxy.ingestor.isStored('default', ID)).toBe(true);
  });
});
