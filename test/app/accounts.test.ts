/**
 * One proxy, several WhatsApp business accounts: each with its own token and app secret, the caller
 * token's `acct` claim choosing one, and nothing of one account reachable by another's callers, in
 * any tier.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAccountsFile } from '../../src/accounts.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { DirectoryStore } from '../../src/runtime/directory-store.js';
import { bodyBytes, expectSameBytes } from '../support/bytes.js';
import { FakeWhatsApp, graphError, makeBytes } from '../support/fake-whatsapp.js';
import { startHarness, type Harness } from '../support/proxy-harness.js';
import { openTempStore, untilStored, type TempStore } from '../support/temp-store.js';
import { appSecret, deliveryOf, signature } from '../support/webhooks.js';

const ACME_TOKEN = `acme-token-${randomBytes(6).toString('hex')}`;
const ACME_SECRET = appSecret();
const DEFAULT_SECRET = appSecret();
const ACME_PHOTO = '610000000000001';
const DEFAULT_PHOTO = '610000000000002';
const acmePhoto = makeBytes(30_000, 61);
const defaultPhoto = makeBytes(20_000, 62);

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ JWT_SECRET: 's'.repeat(32), ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('account configuration', () => {
  it('reads WHATSAPP_TOKEN as the default account and WHATSAPP_ACCOUNTS with per-account variables', () => {
    const config = loadConfig({
      JWT_SECRET: 's'.repeat(32),
      WHATSAPP_TOKEN: 'default-token',
      WHATSAPP_ACCOUNTS: 'acme, globex_2',
      WHATSAPP_TOKEN_ACME: 'acme-token',
      WHATSAPP_APP_SECRET_ACME: `${'a'.repeat(32)},${'b'.repeat(32)}`,
      WHATSAPP_TOKEN_GLOBEX_2: 'globex-token',
    });
    expect(config.accounts).toEqual([
      { name: 'default', token: 'default-token', appSecrets: [] },
      { name: 'acme', token: 'acme-token', appSecrets: ['a'.repeat(32), 'b'.repeat(32)] },
      { name: 'globex_2', token: 'globex-token', appSecrets: [] },
    ]);
  });

  it('does not need the default account when others exist', () => {
    expect(loadConfig({ JWT_SECRET: 's'.repeat(32), WHATSAPP_ACCOUNTS: 'acme', WHATSAPP_TOKEN_ACME: 't' }).accounts.map((a) => a.name)).toEqual(['acme']);
  });

  it.each([
    [{}, 'WHATSAPP_TOKEN'],
    [{ WHATSAPP_ACCOUNTS: 'acme' }, 'WHATSAPP_TOKEN_ACME'],
    [{ WHATSAPP_ACCOUNTS: 'Acme', WHATSAPP_TOKEN_ACME: 't' }, 'WHATSAPP_ACCOUNTS'],
    [{ WHATSAPP_ACCOUNTS: 'default', WHATSAPP_TOKEN_DEFAULT: 't' }, 'WHATSAPP_ACCOUNTS'],
    [{ WHATSAPP_ACCOUNTS: 'acme', WHATSAPP_TOKEN_ACME: 't', WHATSAPP_APP_SECRET_ACME: 'short' }, 'WHATSAPP_APP_SECRET_ACME'],
  ])('refuses %o naming %s', (env, variable) => {
    expect(failure(env).variable).toBe(variable);
  });

  it('parses WHATSAPP_ACCOUNTS_FILE and names the variable for every kind of bad file', () => {
    expect(parseAccountsFile(JSON.stringify({ acme: { token: 't1', appSecret: 'x'.repeat(32) }, beta: { token: 't2' } }))).toEqual([
      { name: 'acme', token: 't1', appSecrets: ['x'.repeat(32)] },
      { name: 'beta', token: 't2', appSecrets: [] },
    ]);
    for (const bad of ['not json', '[]', '{"Bad Name": {"token": "t"}}', '{"acme": {}}', '{"acme": {"token": "t", "appSecret": 5}}', '{"acme": "t"}']) {
      expect(() => parseAccountsFile(bad)).toThrow(ConfigError);
      try {
        parseAccountsFile(bad);
      } catch (error) {
        expect((error as ConfigError).variable).toBe('WHATSAPP_ACCOUNTS_FILE');
        // The message never quotes a token.
        expect((error as ConfigError).message).not.toContain('"t"');
      }
    }
  });
});

describe('isolation between accounts', () => {
  let h: Harness;
  let store: DirectoryStore;
  let temp: TempStore;

  beforeEach(async () => {
    temp = await openTempStore();
    store = temp.store;
    const fake = await new FakeWhatsApp().start();
    fake.addAccount(ACME_TOKEN);
    fake.addMedia(ACME_PHOTO, { bytes: acmePhoto, mimeType: 'image/jpeg', owner: ACME_TOKEN });
    fake.addMedia(DEFAULT_PHOTO, { bytes: defaultPhoto, mimeType: 'image/jpeg' });
    h = await startHarness({
      fake,
      env: { WHATSAPP_ACCOUNTS: 'acme', WHATSAPP_TOKEN_ACME: ACME_TOKEN, WHATSAPP_APP_SECRET_ACME: ACME_SECRET, WHATSAPP_APP_SECRET: DEFAULT_SECRET },
      deps: { store },
    });
  });
  afterEach(async () => {
    await h.close();
    await h.fake.stop();
    await temp.remove();
  });

  const as = async (acct: string | undefined, id: string, init: RequestInit = {}) => h.get(`/media/${id}`, { ...init, token: await h.token(acct === undefined ? { media: '*' } : { media: '*', acct }) });

  it('serves each account its own media with its own token, and never the other account’s, from any tier', async () => {
    const own = await as('acme', ACME_PHOTO);
    expect(own.status).toBe(200);
    expectSameBytes(await bodyBytes(own), acmePhoto);
    const graphLookup = h.fake.requests.find((r) => r.kind === 'graph' && r.mediaId === ACME_PHOTO);
    expect(graphLookup?.headers.authorization).toBe(`Bearer ${ACME_TOKEN}`);
    expect((await as('acme', ACME_PHOTO)).headers.get('etag')).not.toBeNull(); // now in memory
    // The store commits after its fsync, which may come after the memory tier's commit.
    expect(await untilStored(store, { account: 'acme', id: ACME_PHOTO })).toBeDefined();

    // The default account's caller, with media "*": its own Graph says the id does not exist.
    const other = await as(undefined, ACME_PHOTO);
    expect(other.status).toBe(404);
    expect((await other.json()).code).toBe('media_not_found');
    // And the other way round.
    expect((await as('acme', DEFAULT_PHOTO)).status).toBe(404);
    expect(await store.get({ account: 'default', id: ACME_PHOTO })).toBeUndefined();
    expect(await store.get({ account: 'acme', id: ACME_PHOTO })).toBeDefined();
  });

  it('answers 403 unknown_account for an account that is not configured', async () => {
    const res = await as('globex', ACME_PHOTO);
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe('unknown_account');
    expect(h.fake.count('graph')).toBe(0);
  });

  it('keeps one account’s rate limit from delaying another', async () => {
    h.fake.scriptGraph(ACME_PHOTO, { status: 429, body: graphError(80007), headers: { 'retry-after': '120' } });
    expect((await as('acme', ACME_PHOTO)).status).toBe(503);
    expect((await as('acme', ACME_PHOTO)).status).toBe(503); // fail-fast: Graph not asked again
    expect(h.fake.count('graph', ACME_PHOTO)).toBe(1);
    const other = await as(undefined, DEFAULT_PHOTO);
    expect(other.status).toBe(200);
    expectSameBytes(await bodyBytes(other), defaultPhoto);
  });

  it('checks each account’s webhook with its own app secret', async () => {
    const body = deliveryOf([ACME_PHOTO]);
    const post = (path: string, secret: string) =>
      fetch(`${h.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature(body, secret) } });
    expect((await post('/webhooks/whatsapp/acme', DEFAULT_SECRET)).status).toBe(401);
    expect((await post('/webhooks/whatsapp/globex', ACME_SECRET)).status).toBe(404);
    expect((await post('/webhooks/whatsapp/acme', ACME_SECRET)).status).toBe(200);
    expect(await untilStored(store, { account: 'acme', id: ACME_PHOTO })).toBeDefined();
    // The default account's endpoint takes its own secret only, and its Graph does not know the id.
    expect((await post('/webhooks/whatsapp', ACME_SECRET)).status).toBe(401);
  });

  it('picks up new accounts and drops removed ones on a reload', async () => {
    h.proxy.accounts.replace([{ name: 'default', token: h.fake.token, appSecrets: [] }]);
    expect((await as('acme', ACME_PHOTO)).status).toBe(403);
    h.proxy.accounts.replace([
      { name: 'default', token: h.fake.token, appSecrets: [] },
      { name: 'acme', token: ACME_TOKEN, appSecrets: [] },
    ]);
    expect((await as('acme', ACME_PHOTO)).status).toBe(200);
  });
});
