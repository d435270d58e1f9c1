/**
 * Nothing partial is ever served from the directory store: a child proxy SIGKILLed while it writes a
 * file, a checksum mismatch, and a connection reset mid-body all leave nothing a later request reads.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeHeader } from '../../src/runtime/stored-file.js';
import { bodyOf, callerToken, killChildProxies, startChildProxy, type ChildProxy } from '../support/child-proxy.js';
import { FakeWhatsApp, makeBytes, sha256Hex } from '../support/fake-whatsapp.js';
import { eventually } from '../support/eventually.js';

const env = { CACHE_MAX_ITEM_BYTES: '1000000' };
let fake: FakeWhatsApp;
let cwd: string;
let root: string;
/** The proxy started after the crash; the later tests use it too. */
let restarted: ChildProxy;

beforeAll(async () => {
  fake = await new FakeWhatsApp().start();
  cwd = mkdtempSync(join(tmpdir(), 'wmp-crash-'));
  root = join(cwd, 'media');
});
afterAll(async () => {
  killChildProxies();
  await fake.stop();
  rmSync(cwd, { recursive: true, force: true });
});

const start = () => startChildProxy(fake, cwd, { ...env, STORE_URL: 'file:media' });
const temporaryFiles = () => readdirSync(join(root, '.tmp'));
const storedPath = (id: string) => join(root, 'default', id);

/** Checks the stored file of `id` holds exactly `bytes` under a header naming their sha256. */
function expectStored(id: string, bytes: Uint8Array): void {
  const file = readFileSync(storedPath(id));
  const header = decodeHeader(file, file.byteLength, { account: 'default', id });
  expect(header?.meta).toMatchObject({ id, sha256: sha256Hex(bytes), size: bytes.byteLength });
  expect(file.subarray(header!.dataOffset).equals(bytes)).toBe(true);
}

/** Starts a GET whose body may never finish (the proxy gets killed); resolves once the head arrived. */
function openDownload(proxy: ChildProxy, id: string, token: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request(`${proxy.url()}/media/${id}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', () => {});
      res.on('error', () => {});
      res.on('aborted', () => {});
      done(res.statusCode ?? 0);
    });
    req.on('error', fail);
    req.end();
  });
}

describe('nothing partial is ever served from the directory store', () => {
  it('after a SIGKILL mid-write only a temporary file is left; the next start removes it and the next request downloads again', async () => {
    const id = '2200000001';
    const bytes = makeBytes(3_000_000, 31);
    fake.addMedia(id, { bytes, mimeType: 'video/mp4' });
    fake.setDownloadFault(id, { trickle: { chunkBytes: 64 * 1024, delayMs: 40 } });
    const crashed = await start();
    expect(await openDownload(crashed, id, await callerToken())).toBe(200);
    const partial = () => temporaryFiles().map((name) => ({ name, size: readFileSync(join(root, '.tmp', name)).byteLength }));
    await eventually(() => partial().some((f) => f.size > 500_000), 'the temporary file half written');

    crashed.child.kill('SIGKILL');
    expect(await crashed.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(existsSync(storedPath(id))).toBe(false);
    const left = partial();
    expect(left).toHaveLength(1);
    expect(left[0]!.name.startsWith(`${crashed.pid}-`)).toBe(true);
    expect(left[0]!.size).toBeLessThan(bytes.byteLength);

    fake.setDownloadFault(id, undefined);
    restarted = await start();
    expect(temporaryFiles()).toEqual([]);
    expect(restarted.lines.find((l) => String(l.msg).startsWith('removed temporary store files'))).toMatchObject({ removed: 1 });
    expect(restarted.lines.find((l) => String(l.msg).startsWith('listening'))).toMatchObject({ entries: 0, bytes: 0 });

    const cdnBefore = fake.count('cdn', id);
    const res = await restarted.request(`/media/${id}`);
    expect(res.status).toBe(200);
    expect((await bodyOf(res)).equals(bytes)).toBe(true);
    expect(fake.count('cdn', id)).toBe(cdnBefore + 1);
    await eventually(() => existsSync(storedPath(id)), 'the file stored');
    expectStored(id, bytes);
  }, 60_000);

  it.each([
    ['a checksum mismatch', '2200000002', 400_000, { corrupt: true }],
    ['a connection reset mid-body', '2200000003', 2_000_000, { resetAfterBytes: 700_000 }],
  ])('%s stores nothing, and the next request downloads and stores the right bytes', async (_what, id, size, fault) => {
    const bytes = makeBytes(size, size);
    fake.addMedia(id, { bytes, mimeType: 'application/pdf' });
    fake.scriptDownload(id, fault);

    const failed = await restarted.request(`/media/${id}`);
    // The head went out as the bytes arrived; the body fails before its last byte.
    await expect(bodyOf(failed)).rejects.toThrow();
    await eventually(() => temporaryFiles().length === 0, 'the temporary file removed');
    expect(existsSync(storedPath(id))).toBe(false);
    expect(readdirSync(join(root, 'default'))).not.toContain(id);
    expect(restarted.requestLines(id)).toHaveLength(1);

    const res = await restarted.request(`/media/${id}`);
    expect(res.status).toBe(200);
    expect((await bodyOf(res)).equals(bytes)).toBe(true);
    await eventually(() => existsSync(storedPath(id)), 'the file stored');
    expectStored(id, bytes);
    const metrics = await (await fetch(`${restarted.url()}/metrics`)).text();
    expect(metrics).toMatch(/store_writes_total\{outcome="refused"\} [1-9]/);
  });
});
