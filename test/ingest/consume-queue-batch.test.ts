/**
 * The Cloudflare Queues consumer's decisions (ack, retry with delay, drop), with messages shaped like
 * workerd's and the app's ingestor downloading from the fake Graph + CDN.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consumePrefetchBatch, type QueueMessageLike } from '../../src/ingest/consume-queue-batch.js';
import { DEFAULT_RETRY_POLICY } from '../../src/ingest/retry-policy.js';
import { createJsonLogger } from '../../src/logger.js';
import { graphError, makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { recordingMetrics } from '../support/recording-metrics.js';

class Message implements QueueMessageLike {
  outcome: 'ack' | { retry: number | undefined } | undefined;
  constructor(
    readonly body: unknown,
    readonly attempts = 1,
  ) {}
  ack(): void {
    this.outcome = 'ack';
  }
  retry(options?: { delaySeconds?: number }): void {
    this.outcome = { retry: options?.delaySeconds };
  }
}

describe('consumePrefetchBatch', () => {
  let h: Harness;
  let recorded: ReturnType<typeof recordingMetrics>;
  beforeEach(async () => {
    h = await startHarness({ env: { GRAPH_MAX_RETRIES: '0' } });
    recorded = recordingMetrics();
    h.fake.addMedia('611', { bytes: makeBytes(5_000, 1), mimeType: 'image/jpeg' });
    h.fake.addMedia('612', { bytes: makeBytes(5_000, 2), mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  const consume = (messages: Message[]) =>
    consumePrefetchBatch(messages, { ingestor: h.proxy.ingestor, logger: createJsonLogger('silent'), metrics: recorded.metrics, retry: { ...DEFAULT_RETRY_POLICY, random: () => 0.5 } });

  it('acks a job once its media is downloaded, and a redelivered one without downloading again', async () => {
    const first = new Message({ account: 'default', id: '611' });
    await consume([first, new Message({ account: 'default', id: '612' })]);
    expect(first.outcome).toBe('ack');
    const redelivered = new Message({ account: 'default', id: '611' });
    await consume([redelivered]);
    expect(redelivered.outcome).toBe('ack');
    expect(h.fake.count('cdn', '611')).toBe(1);
    expect(recorded.jobs).toMatchObject({ done: 2, already_stored: 1 });
  });

  it('asks the queue to redeliver a transient failure later, with backoff by attempt, and drops it on the last attempt', async () => {
    h.fake.scriptGraph('611', { status: 503, body: graphError(2) }, { status: 503, body: graphError(2) }, { status: 503, body: graphError(2) });
    const early = new Message({ account: 'default', id: '611' }, 1);
    const later = new Message({ account: 'default', id: '611' }, 3);
    await consume([early]);
    await consume([later]);
    expect(early.outcome).toEqual({ retry: 1 });
    expect(later.outcome).toEqual({ retry: 3 });
    const last = new Message({ account: 'default', id: '611' }, DEFAULT_RETRY_POLICY.maxAttempts);
    await consume([last]);
    expect(last.outcome).toBe('ack');
    expect(recorded.jobs).toMatchObject({ retried: 2, failed: 1 });
  });

  it('drops an unknown id and a body that is not a job at once', async () => {
    const unknown = new Message({ account: 'default', id: '999' });
    const garbage = [new Message('611'), new Message({ account: 'default', id: '6x' }), new Message({ account: 'Bad', id: '611' }), new Message(null)];
    await consume([unknown, ...garbage]);
    for (const m of [unknown, ...garbage]) expect(m.outcome).toBe('ack');
    expect(h.fake.count('graph', '999')).toBe(1);
    expect(h.fake.count('graph', '611')).toBe(0);
  });
});
