import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const SECRET = randomBytes(32).toString('hex');
const key = new TextEncoder().encode(SECRET);

/** The environment a child sees: PATH and HOME only, plus what the test passes. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, ...extra };
}

async function cli(args: string[], options: { env: Record<string, string>; cwd?: string }) {
  try {
    const { stdout, stderr } = await run(TSX, [join(ROOT, 'scripts/token.ts'), ...args], { cwd: options.cwd ?? ROOT, env: env(options.env) });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run token', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'token-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prints a token signed with JWT_SECRET that covers the ids for the ttl (through npm itself)', async () => {
    const { stdout } = await run('npm', ['run', '-s', 'token', '--', '--media', '123,456', '--ttl', '15m'], { cwd: ROOT, env: env({ JWT_SECRET: SECRET }) });
    const token = stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
    expect(payload.media).toEqual(['123', '456']);
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it('reads .env like npm start does, signs with the first of several secrets, and adds JWT_ISSUER/JWT_AUDIENCE', async () => {
    const next = randomBytes(32).toString('hex');
    await writeFile(join(dir, '.env'), `JWT_SECRET=${SECRET},${next}\nJWT_ISSUER=https://backend.example\nJWT_AUDIENCE=media-proxy\n`);
    const { code, stdout } = await cli(['--media', '*', '--ttl', '2h'], { cwd: dir, env: {} });
    expect(code).toBe(0);
    const { payload } = await jwtVerify(stdout.trim(), key, { issuer: 'https://backend.example', audience: 'media-proxy' });
    expect(payload.media).toBe('*');
    expect(payload.exp! - payload.iat!).toBe(7200);
  });

  it('lets the environment win over .env, and flags override the configured claims', async () => {
    await writeFile(join(dir, '.env'), `JWT_SECRET=${randomBytes(32).toString('hex')}\nJWT_ISSUER=from-env-file\n`);
    const { stdout } = await cli(['--media', '7', '--ttl', '90', '--audience', 'cli-aud'], { cwd: dir, env: { JWT_SECRET: SECRET } });
    const { payload } = await jwtVerify(stdout.trim(), key, { issuer: 'from-env-file', audience: 'cli-aud' });
    expect(payload.exp! - payload.iat!).toBe(90);
  });

  it('with --window prints the same token twice within one window, aligned to it, with acct and scope', async () => {
    const args = ['--media', '123', '--ttl', '10m', '--window', '1d', '--acct', 'sales_eu', '--scope', 'media:delete media:prefetch'];
    const before = Date.now();
    const [first, second] = await Promise.all([cli(args, { cwd: dir, env: { JWT_SECRET: SECRET } }), cli(args, { cwd: dir, env: { JWT_SECRET: SECRET } })]);
    const after = Date.now();
    expect(first.code).toBe(0);
    const { payload } = await jwtVerify(first.stdout.trim(), key, { algorithms: ['HS256'] });
    expect(payload).toMatchObject({ acct: 'sales_eu', scope: 'media:delete media:prefetch', media: ['123'] });
    expect(payload.iat! % 86_400).toBe(0);
    expect(payload.exp! - payload.iat!).toBe(86_400 + 600);
    expect(payload.iat! * 1000).toBeLessThanOrEqual(after);
    // Both runs fall in one window unless a UTC midnight passed while they ran; then they differ.
    const oneWindow = Math.floor(before / 86_400_000) === Math.floor(after / 86_400_000);
    expect(second.stdout === first.stdout).toBe(oneWindow);
  });

  it.each([
    [['--ttl', '15m'], 2, /--media is required/],
    [['--media', '1', '--window', 'hourly'], 2, /--window "hourly" is not a duration/],
    [['--media', '1', '--window', '0'], 2, /--window must be between 1s and 30d/],
    [['--media', '1', '--window', '30d'], 1, /windowSeconds \(2592000\) \+ ttlSeconds \(900\) must be at most 2592000 \(30 days\)/],
    [['--media', '1', '--acct', 'Sales'], 1, /account "Sales" must be 1 to 32 of a-z, 0-9 and _/],
    [['--media', '1', '--scope', 'media:delete  media:prefetch'], 1, /single spaces/],
    [['--media', '1', '--ttl', '15 minutes'], 2, /--ttl "15 minutes" is not a duration/],
    [['--media', '1', '--ttl', '31d'], 2, /between 1s and 30d/],
    [['--media', '1', '--ttl', '0'], 2, /between 1s and 30d/],
    [['--media', '1', '--nope'], 2, /Unknown option/],
    [['--media', '1,abc'], 1, /"abc" is not digits only/],
  ])('refuses %j with exit code %i and prints nothing on stdout', async (args, exitCode, message) => {
    const result = await cli(args, { cwd: dir, env: { JWT_SECRET: SECRET } });
    expect(result.code).toBe(exitCode);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('documents --window, --acct and --scope in its usage text', async () => {
    const help = await cli(['--help'], { cwd: dir, env: { JWT_SECRET: SECRET } });
    expect(help.code).toBe(2);
    expect(help.stdout).toBe('');
    for (const flag of ['--window', '--acct', '--scope']) expect(help.stderr).toMatch(new RegExp(`^  ${flag} +\\S`, 'm'));
  });

  it('explains when there is no secret to sign with, naming the variable and never printing a secret', async () => {
    const short = 'too-short-secret';
    await writeFile(join(dir, '.env'), '');
    const none = await cli(['--media', '1'], { cwd: dir, env: { JWKS_URL: 'https://issuer.example/jwks.json' } });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/JWT_SECRET: is not set/);
    const weak = await cli(['--media', '1'], { cwd: dir, env: { JWT_SECRET: short } });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/JWT_SECRET: each secret must be at least 32 bytes/);
    expect(weak.stderr).not.toContain(short);
  });
});

describe('the package export', () => {
  it('gives backends signMediaToken and mediaUrl via `import … from "whatsapp-media-proxy"`', async () => {
    // A backend project with this package in node_modules, as `npm install <git url>` would give.
    const backend = await mkdtemp(join(tmpdir(), 'backend-'));
    try {
      await mkdir(join(backend, 'node_modules'));
      await symlink(ROOT, join(backend, 'node_modules/whatsapp-media-proxy'), 'dir');
      await writeFile(
        join(backend, 'mint.ts'),
        `import { mediaUrl, signMediaToken } from 'whatsapp-media-proxy';\n` +
          `const token: string = await signMediaToken({ secret: process.env.SECRET!, media: ['999'], ttlSeconds: 120 });\n` +
          `const link: string = await mediaUrl({ baseUrl: 'https://proxy.example', secret: process.env.SECRET!, id: '999', ttlSeconds: 120, windowSeconds: 3600 });\n` +
          `console.log(token);\nconsole.log(link);\n`,
      );
      await writeFile(join(backend, 'package.json'), '{"type":"module"}\n');
      const { stdout } = await run(TSX, ['mint.ts'], { cwd: backend, env: env({ SECRET }) });
      const [token = '', link = ''] = stdout.trim().split('\n');
      const { payload } = await jwtVerify(token, key);
      expect(decodeJwt(token).media).toEqual(['999']);
      expect(payload.exp! - payload.iat!).toBe(120);
      expect(link).toMatch(/^https:\/\/proxy\.example\/media\/999\?token=/);
      const linked = await jwtVerify(new URL(link).searchParams.get('token')!, key);
      expect(linked.payload.exp! - linked.payload.iat!).toBe(3600 + 120);
    } finally {
      await rm(backend, { recursive: true, force: true });
    }
  });
});
