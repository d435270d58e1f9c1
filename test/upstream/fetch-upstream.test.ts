import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeWhatsApp, makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { recordingFetch, type Contact } from './recording-fetch.js';

const ID = '1234567890123456';
const bytes = makeBytes(4_000, 3);

describe('redirects from the media CDN', () => {
  let h: Harness;
  let fake: FakeWhatsApp;
  const contacts: Contact[] = [];
  beforeEach(async () => {
    contacts.length = 0;
    fake = await new FakeWhatsApp().start();
    fake.addMedia(ID, { bytes, mimeType: 'image/jpeg' });
    h = await startHarness({ fake, deps: { fetch: recordingFetch(contacts) } });
  });
  afterEach(async () => {
    await h.close();
    await fake.stop();
  });

  const cdnContacts = () => contacts.filter((c) => new URL(c.url).pathname !== `/v25.0/${ID}`);

  it('follows up to 3 redirects by hand, checking each hop, and serves the bytes', async () => {
    const target = fake.signedUrl(ID);
    fake.scriptDownload(ID, { redirectTo: target }, { redirectTo: target }, { redirectTo: target });
    const res = await h.get(`/media/${ID}`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    expect(fake.count('cdn', ID)).toBe(4);
  });

  it('refuses a 4th redirect with 502 and does not follow it', async () => {
    const target = fake.signedUrl(ID);
    fake.scriptDownload(ID, ...Array.from({ length: 5 }, () => ({ redirectTo: target })));
    const res = await h.get(`/media/${ID}`);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ code: 'upstream_error', detail: 'too many redirects from the media CDN' });
    expect(fake.count('cdn', ID)).toBe(4);
  });

  it('resolves a relative Location against the hop that sent it', async () => {
    const signed = new URL(fake.signedUrl(ID));
    fake.scriptDownload(ID, { redirectTo: `${signed.pathname}${signed.search}` });
    const res = await h.get(`/media/${ID}`);
    expect(res.status).toBe(200);
    expect(fake.count('cdn', ID)).toBe(2);
  });

  it.each([
    ['another loopback name', (f: FakeWhatsApp) => f.signedUrl(ID).replace('127.0.0.1', 'localhost')],
    ['another loopback address', (f: FakeWhatsApp) => f.signedUrl(ID).replace('127.0.0.1', '127.0.0.2')],
    ['IPv6 loopback', (f: FakeWhatsApp) => f.signedUrl(ID).replace('127.0.0.1', '[::1]')],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['a private address over https', () => 'https://10.0.0.1/whatsapp_business/attachments/?mid=1'],
    ['a private address over http', () => 'http://192.168.1.1/'],
    ['a host off MEDIA_HOSTS', () => 'https://evil.example/steal'],
    ['userinfo on the allowed host', (f: FakeWhatsApp) => f.signedUrl(ID).replace('http://', 'http://user:pw@')],
    ['a non-http scheme', () => 'file:///etc/passwd'],
  ])('refuses a redirect to %s without contacting it, so the business token never goes there', async (_what, location) => {
    fake.scriptDownload(ID, { redirectTo: location(fake) });
    const res = await h.get(`/media/${ID}`);
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body.code).toBe('upstream_host_not_allowed');
    // The problem body names the rule, never the URL.
    expect(JSON.stringify(body)).not.toMatch(/169\.254|10\.0\.0\.1|192\.168|evil|localhost|file:|user:pw|127\.0\.0\.2|::1/);
    // One CDN hop was made (the redirect itself), and only to the allowed host.
    expect(cdnContacts()).toHaveLength(1);
    for (const c of contacts) expect(new URL(c.url).host).toBe(new URL(fake.origin).host);
    expect(fake.count('cdn', ID)).toBe(1);
  });

  it('sends the business token only to hops that pass the policy', async () => {
    fake.scriptDownload(ID, { redirectTo: fake.signedUrl(ID) });
    expect((await h.get(`/media/${ID}`)).status).toBe(200);
    for (const c of contacts) {
      expect(new URL(c.url).hostname).toBe('127.0.0.1');
      expect(c.authorization).toBe(`Bearer ${fake.token}`);
    }
  });
});

describe('a first download URL off the policy is never contacted', () => {
  let h: Harness;
  const contacts: Contact[] = [];
  beforeEach(async () => {
    contacts.length = 0;
    h = await startHarness({ deps: { fetch: recordingFetch(contacts) } });
    h.fake.addMedia(ID, { bytes, mimeType: 'image/jpeg' });
  });
  afterEach(() => h.close());

  it.each([
    ['a host off MEDIA_HOSTS', (url: string) => url.replace('127.0.0.1', 'localhost')],
    ['userinfo', (url: string) => url.replace('http://', 'http://a:b@')],
    ['an unlisted IP literal', () => 'https://157.240.1.1/whatsapp_business/attachments/?mid=1'],
    ['plain http on a non-loopback host', () => 'http://lookaside.fbsbx.com/x'],
    ['a non-default port on a non-loopback host', () => 'https://lookaside.fbsbx.com:8443/x'],
  ])('%s', async (_what, rewrite) => {
    h.fake.overrideUrl(ID, rewrite(h.fake.signedUrl(ID)));
    const res = await h.get(`/media/${ID}`);
    expect(res.status).toBe(502);
    expect((await res.json()).code).toBe('upstream_host_not_allowed');
    // Only Graph was asked.
    expect(contacts.map((c) => new URL(c.url).pathname)).toEqual([`/v25.0/${ID}`]);
    expect(h.fake.count('cdn')).toBe(0);
  });

  it('with plain http and any port on a non-loopback host even when it is listed', async () => {
    await h.close();
    contacts.length = 0;
    h = await startHarness({ env: { MEDIA_HOSTS: '127.0.0.1,lookaside.fbsbx.com,.fbsbx.com' }, deps: { fetch: recordingFetch(contacts) } });
    h.fake.addMedia(ID, { bytes, mimeType: 'image/jpeg' });
    for (const url of ['http://lookaside.fbsbx.com/x', 'https://lookaside.fbsbx.com:444/x', 'http://cdn.fbsbx.com:80/x', 'https://fbsbx.com/x']) {
      h.fake.overrideUrl(ID, url);
      const res = await h.get(`/media/${ID}`);
      expect(res.status, url).toBe(502);
      await res.arrayBuffer();
      h.clock.advance(5 * 60_000); // past the resolve cache, so Graph is asked (and answers the next URL)
    }
    expect(contacts.every((c) => new URL(c.url).hostname === '127.0.0.1')).toBe(true);
  });
});

describe('upstream response headers are never passed through', () => {
  let h: Harness;
  beforeEach(async () => {
    // The CDN (and Graph) answer with headers that must not reach the caller.
    const hostile = (url: URL, response: Response) => {
      const headers = new Headers(response.headers);
      headers.append('set-cookie', 'datr=upstream-cookie; Domain=127.0.0.1; Path=/');
      headers.set('server', 'proxygen-bolt');
      headers.set('x-fb-debug', 'internal-trace');
      headers.set('access-control-allow-origin', '*');
      headers.set('content-disposition', 'inline; filename="evil.html"');
      headers.set('location', 'https://evil.example/');
      headers.set('x-frame-options', 'ALLOWALL');
      headers.set('link', '<https://evil.example/x.css>; rel=stylesheet');
      return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
    };
    h = await startHarness({ deps: { fetch: recordingFetch([], hostile) } });
    h.fake.addMedia(ID, { bytes, mimeType: 'image/jpeg' });
    h.fake.addMedia('98765', { bytes: makeBytes(64 * 1024, 9), mimeType: 'video/mp4' });
  });
  afterEach(() => h.close());

  const leaked = ['set-cookie', 'server', 'x-fb-debug', 'access-control-allow-origin', 'content-disposition', 'location', 'x-frame-options', 'link'];

  it('on a cache miss, a cache hit, HEAD and a range', async () => {
    const answers = [
      await h.get(`/media/${ID}`),
      await h.get(`/media/${ID}`),
      await h.get(`/media/${ID}`, { method: 'HEAD' }),
      await h.get(`/media/${ID}`, { headers: { range: 'bytes=0-9' } }),
    ];
    for (const res of answers) {
      await res.arrayBuffer();
      expect(res.status).toBeLessThan(300);
      for (const name of leaked) expect(res.headers.get(name), name).toBeNull();
    }
  });

  it('on a streamed answer too large to cache', async () => {
    await h.close();
    h = await startHarness({
      env: { CACHE_MAX_ITEM_BYTES: '1024' },
      deps: {
        fetch: recordingFetch([], (_url, response) => {
          const headers = new Headers(response.headers);
          headers.append('set-cookie', 'datr=upstream-cookie');
          headers.set('server', 'proxygen-bolt');
          return new Response(response.body, { status: response.status, headers });
        }),
      },
    });
    h.fake.addMedia('98765', { bytes: makeBytes(64 * 1024, 9), mimeType: 'video/mp4' });
    for (const init of [{}, { headers: { range: 'bytes=100-' } }]) {
      const res = await h.get('/media/98765', init);
      await res.arrayBuffer();
      expect(res.headers.get('x-request-id')).not.toBeNull();
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(res.headers.get('server')).toBeNull();
    }
  });
});

describe('Graph redirects', () => {
  let h: Harness;
  const contacts: Contact[] = [];
  beforeEach(async () => {
    contacts.length = 0;
    h = await startHarness({ deps: { fetch: recordingFetch(contacts) } });
  });
  afterEach(() => h.close());

  it('are never followed: the business token goes to GRAPH_API_URL only', async () => {
    h.fake.scriptGraph(ID, { status: 302, body: {}, headers: { location: h.fake.signedUrl(ID).replace('127.0.0.1', 'localhost') } });
    const res = await h.get(`/media/${ID}`);
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(contacts.map((c) => new URL(c.url).pathname)).toEqual([`/v25.0/${ID}`]);
  });
});
