/**
 * WHATSAPP_ACCOUNTS_FILE on the real entrypoint: read at start (a bad file stops it, naming the
 * variable), read again on SIGHUP without dropping a request (a bad file then keeps the accounts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startChildProxy, type ChildProxy } from '../support/child-proxy.js';
import { FakeWhatsApp, makeBytes } from '../support/fake-whatsapp.js';
import { TEST_SECRET } from '../support/proxy-harness.js';
import { eventually } from '../support/eventually.js';

const ACME_TOKEN = 'acme-business-token-for-tests';
const BETA_TOKEN = 'beta-business-token-for-tests';
const ACME_ID = '630000000000001';
const BETA_ID = '630000000000002';

let fake: FakeWhatsApp;
let cwd: string;
let proxy: ChildProxy | undefined;

beforeAll(async () => {
  fake = await new FakeWhatsApp().start();
  fake.addAccount(ACME_TOKEN).addAccount(BETA_TOKEN);
  fake.addMedia(ACME_ID, { bytes: makeBytes(5_000, 1), mimeType: 'image/jpeg', owner: ACME_TOKEN });
  fake.addMedia(BETA_ID, { bytes: makeBytes(5_000, 2), mimeType: 'image/jpeg', owner: BETA_TOKEN });
});
afterAll(() => fake.stop());
afterEach(async () => {
  if (proxy && proxy.child.exitCode === null) {
    proxy.child.kill('SIGTERM');
    await proxy.exited;
  }
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

async function fetchAs(acct: string, id: string): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ media: '*', acct }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now).setExpirationTime(now + 600).sign(new TextEncoder().encode(TEST_SECRET));
  const res = await fetch(`http://127.0.0.1:${proxy!.port}/media/${id}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

describe('WHATSAPP_ACCOUNTS_FILE', () => {
  it('adds the accounts on SIGHUP, and keeps them when the new file is bad', async () => {
    cwd = mkdtempSync(join(tmpdir(), 'wmp-accounts-file-'));
    const file = join(cwd, 'accounts.json');
    writeFileSync(file, JSON.stringify({ acme: { token: ACME_TOKEN } }));
    proxy = await startChildProxy(fake, cwd, { WHATSAPP_ACCOUNTS_FILE: file, STORE_URL: 'none' });
    expect(await fetchAs('acme', ACME_ID)).toBe(200);
    expect(await fetchAs('beta', BETA_ID)).toBe(403);

    writeFileSync(file, JSON.stringify({ acme: { token: ACME_TOKEN }, beta: { token: BETA_TOKEN } }));
    proxy.child.kill('SIGHUP');
    await eventually(() => proxy!.lines.some((l) => l.msg === 'accounts reloaded'), 'the reload');
    expect(await fetchAs('beta', BETA_ID)).toBe(200);

    writeFileSync(file, '{"beta": ');
    proxy.child.kill('SIGHUP');
    await eventually(() => proxy!.lines.some((l) => l.msg === 'accounts not reloaded; keeping the previous ones'), 'the refused reload');
    const refused = proxy.lines.find((l) => l.msg === 'accounts not reloaded; keeping the previous ones');
    expect(refused).toMatchObject({ level: 'error' });
    expect(JSON.stringify(refused)).not.toContain(BETA_TOKEN);
    expect(await fetchAs('beta', BETA_ID)).toBe(200);
    expect(await fetchAs('acme', ACME_ID)).toBe(200);
  });

  it('stops the start naming the variable when the file is bad', () => {
    cwd = mkdtempSync(join(tmpdir(), 'wmp-accounts-file-'));
    const file = join(cwd, 'accounts.json');
    writeFileSync(file, '{"acme": {"appSecret": 3}}');
    const root = resolve(import.meta.dirname, '../..');
    const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(root, 'src/node.ts')], {
      cwd,
      env: { PATH: process.env.PATH ?? '', JWT_SECRET: TEST_SECRET, WHATSAPP_ACCOUNTS_FILE: file, STORE_URL: 'none' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('configuration error: WHATSAPP_ACCOUNTS_FILE');
  });
});
