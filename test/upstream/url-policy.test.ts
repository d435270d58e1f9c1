import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { checkMediaUrl, hostMatches, isLoopbackHost, normaliseHostEntry } from '../../src/upstream/url-policy.js';

const LOOKASIDE = ['lookaside.fbsbx.com'];

describe('checkMediaUrl: which CDN URLs may receive the business token', () => {
  it('accepts an https URL on a listed host and the default port', () => {
    const verdict = checkMediaUrl('https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=x', LOOKASIDE);
    expect(verdict.ok).toBe(true);
    expect(verdict.url?.hostname).toBe('lookaside.fbsbx.com');
  });

  it.each([
    ['a host off MEDIA_HOSTS', 'https://evil.example/x', 'host_not_allowed'],
    ['a look-alike host', 'https://lookaside.fbsbx.com.evil.example/x', 'host_not_allowed'],
    ['a host with a listed host as prefix label', 'https://xlookaside.fbsbx.com/x', 'host_not_allowed'],
    ['a subdomain of an exact entry', 'https://a.lookaside.fbsbx.com/x', 'host_not_allowed'],
    ['a trailing-dot spelling', 'https://lookaside.fbsbx.com./x', 'host_not_allowed'],
    ['userinfo', 'https://user:pass@lookaside.fbsbx.com/x', 'userinfo'],
    ['a username alone', 'https://user@lookaside.fbsbx.com/x', 'userinfo'],
    ['userinfo hiding another host', 'https://lookaside.fbsbx.com@evil.example/x', 'userinfo'],
    ['plain http', 'http://lookaside.fbsbx.com/x', 'scheme'],
    ['a non-default port', 'https://lookaside.fbsbx.com:8443/x', 'port'],
    ['port 80 over https', 'https://lookaside.fbsbx.com:80/x', 'port'],
    ['an unlisted IPv4 literal', 'https://157.240.1.1/x', 'host_not_allowed'],
    ['an unlisted IPv6 literal', 'https://[2a03:2880::1]/x', 'host_not_allowed'],
    ['a decimal IPv4 spelling', 'https://2130706433/x', 'host_not_allowed'],
    ['cloud metadata over http', 'http://169.254.169.254/latest/meta-data/', 'scheme'],
    ['cloud metadata over https', 'https://169.254.169.254/latest/meta-data/', 'host_not_allowed'],
    ['a private address', 'https://10.0.0.1/x', 'host_not_allowed'],
    ['a file URL', 'file:///etc/passwd', 'scheme'],
    ['a data URL', 'data:text/plain,hi', 'scheme'],
    ['javascript', 'javascript:alert(1)', 'scheme'],
    ['ftp', 'ftp://lookaside.fbsbx.com/x', 'scheme'],
    ['a relative URL', '/whatsapp_business/attachments/', 'malformed'],
    ['garbage', 'http://[not-an-ip/', 'malformed'],
  ])('refuses %s', (_what, url, refusal) => {
    expect(checkMediaUrl(url, LOOKASIDE)).toEqual({ ok: false, refusal });
  });

  it('matches a backslash trick the way fetch will parse it (WHATWG: \\ is / in https URLs)', () => {
    // "https://evil.example\@lookaside.fbsbx.com/" is host evil.example to a WHATWG parser, which is
    // also what fetch uses: the verdict and the request see the same host.
    expect(checkMediaUrl('https://evil.example\\@lookaside.fbsbx.com/', LOOKASIDE)).toEqual({ ok: false, refusal: 'host_not_allowed' });
  });

  it('normalises percent-encoded and upper-case hosts before matching', () => {
    expect(checkMediaUrl('https://LOOKASIDE.FBSBX.COM/x', LOOKASIDE).ok).toBe(true);
    expect(checkMediaUrl('https://lookaside%2efbsbx.com/x', LOOKASIDE).ok).toBe(true);
    expect(checkMediaUrl('https://lookaside%2efbsbx.com%2eevil.example/x', LOOKASIDE)).toEqual({ ok: false, refusal: 'host_not_allowed' });
  });

  it('lets loopback hosts use plain http and any port (local fakes), but only when listed', () => {
    expect(checkMediaUrl('http://127.0.0.1:4567/x', ['127.0.0.1']).ok).toBe(true);
    expect(checkMediaUrl('http://localhost:4567/x', ['localhost']).ok).toBe(true);
    expect(checkMediaUrl('http://[::1]:4567/x', ['[::1]']).ok).toBe(true);
    expect(checkMediaUrl('http://localhost:4567/x', ['127.0.0.1'])).toEqual({ ok: false, refusal: 'host_not_allowed' });
    expect(checkMediaUrl('http://127.0.0.2:4567/x', ['127.0.0.1'])).toEqual({ ok: false, refusal: 'host_not_allowed' });
    // Other spellings of 127.0.0.1 are normalised by the URL parser, so they are the same host.
    expect(checkMediaUrl('http://2130706433:4567/x', ['127.0.0.1']).ok).toBe(true);
    expect(checkMediaUrl('http://0x7f.0.0.1:4567/x', ['127.0.0.1']).ok).toBe(true);
  });

  it('still refuses userinfo on loopback', () => {
    expect(checkMediaUrl('http://u:p@127.0.0.1:4567/x', ['127.0.0.1'])).toEqual({ ok: false, refusal: 'userinfo' });
  });

  it('treats only 127/8, ::1 and localhost as loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.255.0.9')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    for (const host of ['10.0.0.1', '0.0.0.0', '[::]', '[::ffff:7f00:1]', 'localhost.evil.example', '127.0.0.1.nip.io', '169.254.169.254']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('MEDIA_HOSTS entries', () => {
  it('a .suffix entry matches subdomains only, never the bare domain or a look-alike', () => {
    const allowed = ['.fbsbx.com'];
    expect(hostMatches('lookaside.fbsbx.com', allowed)).toBe(true);
    expect(hostMatches('a.b.fbsbx.com', allowed)).toBe(true);
    expect(hostMatches('fbsbx.com', allowed)).toBe(false);
    expect(hostMatches('evilfbsbx.com', allowed)).toBe(false);
    expect(hostMatches('fbsbx.com.evil.example', allowed)).toBe(false);
    expect(checkMediaUrl('https://x.fbsbx.com/y', allowed).ok).toBe(true);
    expect(checkMediaUrl('https://fbsbx.com/y', allowed).ok).toBe(false);
  });

  it('a .suffix entry never matches an IP literal', () => {
    expect(hostMatches('10.0.0.1', ['.0.0.1'])).toBe(false);
    expect(hostMatches('[::1]', ['.1]'])).toBe(false);
  });

  it('normalises entries like the URL parser normalises hosts, and refuses what is not a host', () => {
    expect(normaliseHostEntry(' LookAside.FBSBX.com ')).toBe('lookaside.fbsbx.com');
    expect(normaliseHostEntry('.FBSBX.com')).toBe('.fbsbx.com');
    expect(normaliseHostEntry('[::1]')).toBe('[::1]');
    for (const bad of ['', '.', 'host:443', 'user@host', 'host/path', 'a b', '.10.0.0.1', 'host?x', 'host#x']) {
      expect(normaliseHostEntry(bad), bad).toBeUndefined();
    }
    expect(() => loadConfig({ WHATSAPP_TOKEN: 't', JWT_SECRET: 's'.repeat(32), MEDIA_HOSTS: 'lookaside.fbsbx.com,host:8443' })).toThrow(ConfigError);
  });
});

// Hostname labels from a small alphabet so that generated hosts collide with the entries often.
const label = fc.stringMatching(/^[a-c0-9]{1,3}$/);
const hostname = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));

describe('host matcher properties (fast-check)', () => {
  it('a .suffix entry matches exactly the strict subdomains of the suffix', () => {
    fc.assert(
      fc.property(hostname, hostname, (host, suffix) => {
        const expected = host.endsWith(`.${suffix}`);
        expect(hostMatches(host, [`.${suffix}`])).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('an exact entry matches only that host', () => {
    fc.assert(
      fc.property(hostname, hostname, (host, entry) => {
        expect(hostMatches(host, [entry])).toBe(host === entry);
      }),
      { numRuns: 2000 },
    );
  });

  it('an accepted URL is always https on the default port, without userinfo, on a matching host', () => {
    const scheme = fc.constantFrom('https://', 'http://', 'HTTPS://', 'ftp://', '//', 'https:/', 'https:\\\\');
    const userinfo = fc.constantFrom('', 'u@', 'u:p@', ':@', 'lookaside.fbsbx.com@', '%40@');
    const port = fc.constantFrom('', ':443', ':8443', ':80', ':0', ':', ':65535');
    const host = fc.oneof(
      hostname,
      fc.constantFrom('lookaside.fbsbx.com', 'x.fbsbx.com', 'fbsbx.com', 'LOOKASIDE.fbsbx.com', '127.0.0.1', 'localhost', '[::1]', '10.0.0.1', 'lookaside.fbsbx.com.', 'a%2efbsbx.com'),
    );
    const rest = fc.constantFrom('', '/', '/x?y=1', '#f', '\\x', '/@evil.example', '?@evil.example');
    const allowed = ['lookaside.fbsbx.com', '.fbsbx.com', 'b.c'];
    fc.assert(
      fc.property(scheme, userinfo, host, port, rest, (s, u, h, p, r) => {
        const raw = `${s}${u}${h}${p}${r}`;
        const verdict = checkMediaUrl(raw, allowed);
        if (!verdict.ok) return;
        const url = new URL(raw);
        expect(url.protocol).toBe('https:');
        expect(url.port).toBe('');
        expect(url.username + url.password).toBe('');
        expect(hostMatches(url.hostname, allowed)).toBe(true);
        expect(url.hostname === 'fbsbx.com' || url.hostname === 'b.c' || url.hostname.endsWith('.fbsbx.com') || url.hostname === 'lookaside.fbsbx.com').toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), (raw, entries) => {
        const normalised = entries.map(normaliseHostEntry).filter((e): e is string => e !== undefined);
        const verdict = checkMediaUrl(raw, normalised);
        expect(typeof verdict.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });
});

const BASE_ENV = { WHATSAPP_TOKEN: 'business-token', JWT_SECRET: 'x'.repeat(32) };

describe('GRAPH_API_URL and JWKS_URL obey the same https rule (loadConfig)', () => {
  it.each([
    ['http://graph.facebook.com', /https/],
    ['https://graph.facebook.com:8443', /default https port/],
    ['https://user:pw@graph.facebook.com', /credentials/],
    ['ftp://graph.facebook.com', /https/],
    ['javascript:alert(1)', /https/],
    ['graph.facebook.com', /absolute URL/],
    ['https://graph.facebook.com/?x=1', /query or fragment/],
    ['http://10.0.0.1', /https/],
  ])('refuses GRAPH_API_URL=%s', (url, problem) => {
    try {
      loadConfig({ ...BASE_ENV, GRAPH_API_URL: url });
      expect.unreachable('loadConfig accepted it');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('GRAPH_API_URL');
      expect((error as Error).message).toMatch(problem);
    }
  });

  it.each([
    ['https://graph.facebook.com/', 'https://graph.facebook.com'],
    ['https://graph.facebook.com:443', 'https://graph.facebook.com'],
    ['http://127.0.0.1:9999', 'http://127.0.0.1:9999'],
    ['http://localhost:9999/', 'http://localhost:9999'],
    ['http://[::1]:9999', 'http://[::1]:9999'],
  ])('accepts GRAPH_API_URL=%s', (url, normalised) => {
    expect(loadConfig({ ...BASE_ENV, GRAPH_API_URL: url }).graphApiUrl).toBe(normalised);
  });

  it('applies the rule to JWKS_URL too', () => {
    expect(() => loadConfig({ ...BASE_ENV, JWKS_URL: 'http://issuer.example/jwks.json' })).toThrow(/JWKS_URL: must use https/);
    expect(loadConfig({ ...BASE_ENV, JWKS_URL: 'https://issuer.example/.well-known/jwks.json' }).auth.jwksUrl).toBe('https://issuer.example/.well-known/jwks.json');
  });
});
