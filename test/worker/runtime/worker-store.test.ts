/**
 * STORE_URL on Workers: r2://BINDING must name an R2 bucket binding; anything else answers every
 * request with the configuration error, naming STORE_URL, as a missing secret does.
 */
import { describe, expect, it } from 'vitest';
import { freshIsolate, withR2Store } from '../proxy-client.js';

async function healthz(bindings: Record<string, unknown>) {
  const isolate = freshIsolate(bindings);
  const res = await isolate.fetch(new Request('http://proxy.test/healthz'));
  return { res, log: isolate.logEntries() };
}

describe('the Worker store from STORE_URL', () => {
  it('uses the R2 bucket bound under the name r2:// gives, and says so once per isolate', async () => {
    const { res, log } = await healthz(withR2Store());
    expect(res.status).toBe(200);
    expect(log.filter((entry) => entry.msg === 'isolate started')).toEqual([expect.objectContaining({ level: 'info', store: 'r2', binding: 'MEDIA_BUCKET' })]);
  });

  it('stores nothing by default: a Worker has no disk', async () => {
    const { res, log } = await healthz(withR2Store({ STORE_URL: undefined }));
    expect(res.status).toBe(200);
    expect(log.find((entry) => entry.msg === 'isolate started')).toMatchObject({ store: 'none' });
  });

  it.each([
    ['no binding of that name', { STORE_URL: 'r2://MISSING_BUCKET' }],
    ['a binding that is a plain variable', { STORE_URL: 'r2://FAKE_CONTROL_URL' }],
    ['a KV-like binding without head()', { STORE_URL: 'r2://NOT_R2', NOT_R2: { get() {}, put() {}, delete() {}, list() {} } }],
    ['a directory', { STORE_URL: 'file:data/media' }],
  ])('answers 500 naming STORE_URL for %s', async (_, extra) => {
    const { res, log } = await healthz(withR2Store(extra));
    expect(res.status).toBe(500);
    expect(((await res.json()) as { detail: string }).detail).toContain('STORE_URL');
    expect(log).toEqual([expect.objectContaining({ level: 'error', variable: 'STORE_URL' })]);
  });
});
