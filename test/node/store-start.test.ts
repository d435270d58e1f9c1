/**
 * The Node entrypoint refuses to start on a STORE_URL directory it cannot create or write: exit 1 and
 * a message naming STORE_URL, never the path itself (it may be a host's mount point).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killChildProxies, spawnChildProxy } from '../support/child-proxy.js';
import { FakeWhatsApp } from '../support/fake-whatsapp.js';

let fake: FakeWhatsApp;
let cwd: string;

beforeAll(async () => {
  fake = await new FakeWhatsApp().start();
  cwd = mkdtempSync(join(tmpdir(), 'wmp-store-start-'));
});
afterAll(async () => {
  killChildProxies();
  await fake.stop();
  rmSync(cwd, { recursive: true, force: true });
});

describe('start-up with a store directory that cannot be used', () => {
  it('exits 1 naming STORE_URL when the directory cannot be created or cannot be written', async () => {
    writeFileSync(join(cwd, 'a-file'), 'x');
    // As root no permission stops a write: a regular file where the temporary directory goes does.
    mkdirSync(join(cwd, 'media'));
    writeFileSync(join(cwd, 'media', '.tmp'), 'x');
    const attempts = [join(cwd, 'a-file', 'media'), `file:${join(cwd, 'media')}`].map((url) => spawnChildProxy(fake, cwd, { STORE_URL: url }));
    for (const proxy of attempts) {
      expect(await proxy.exited).toEqual({ code: 1, signal: null });
      await expect(proxy.listening).rejects.toThrow();
      expect(proxy.stderr()).toMatch(/configuration error: STORE_URL: cannot create or write the store directory \(E[A-Z]+\)/);
      expect(proxy.stderr()).not.toContain(cwd);
      expect(proxy.lines.filter((l) => String(l.msg).startsWith('listening'))).toEqual([]);
    }
  }, 30_000);
});
