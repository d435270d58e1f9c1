/**
 * The network shape of the fake Graph + CDN (fake-whatsapp.ts): a latency before every Graph answer
 * and every CDN answer's headers, and a bandwidth the CDN paces bodies to, so loopback can stand in
 * for a real upstream.
 */

/**
 * How far away the fake seems. Loopback answers in well under a millisecond at gigabytes per second;
 * the real Graph and CDN answer after tens of milliseconds and send at tens of MB/s, which is what
 * decides whether a proxy's first byte waits for the whole file.
 */
export interface FakeNetwork {
  /** Wait this long before each Graph answer and before each CDN answer's headers, ms. */
  readonly latencyMs?: number;
  /** Send CDN bodies at this many bytes per second (paced writes); unset: as fast as the socket takes. */
  readonly bytesPerSecond?: number;
}

/** Paced bodies go out in chunks of this size: big enough for few timers, small enough to be smooth. */
export const PACED_CHUNK_BYTES = 32 * 1024;

/** A copy of `network`, or a RangeError for a negative latency or a bandwidth that is not positive. */
export function validNetwork(network: FakeNetwork): FakeNetwork {
  const { latencyMs, bytesPerSecond } = network;
  if (latencyMs !== undefined && !(latencyMs >= 0)) throw new RangeError(`latencyMs must be >= 0, got ${latencyMs}`);
  if (bytesPerSecond !== undefined && !(bytesPerSecond > 0)) throw new RangeError(`bytesPerSecond must be > 0, got ${bytesPerSecond}`);
  return { ...network };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
