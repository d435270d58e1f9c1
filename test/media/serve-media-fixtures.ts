/** What the GET /media/:id tests share: one JPEG the fake Graph knows, and a harness that serves it. */
import { makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness, type HarnessOptions } from '../support/proxy-harness.js';

export const IMAGE_ID = '1234567890123456';
export const image = makeBytes(5_000, 7);

/** A proxy harness whose fake Graph and CDN have IMAGE_ID as `image`, an image/jpeg. */
export async function startWithImage(options?: HarnessOptions): Promise<Harness> {
  const h = await startHarness(options);
  h.fake.addMedia(IMAGE_ID, { bytes: image, mimeType: 'image/jpeg' });
  return h;
}
