/**
 * A store writer on a disk that takes no more bytes (run with node and tsx's loader): opens the
 * directory store in argv[2], then lowers its own file-size limit to 0 (prlimit; Node ignores
 * SIGXFSZ, so a write beyond it fails with EFBIG, as one on a full disk fails with ENOSPC). Writes one
 * chunk, aborts, and prints what was left: the write's error code, its open descriptors before and
 * after, and the files in the store's temporary directory.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../src/clock.js';
import { createJsonLogger } from '../../src/logger.js';
import { openDirectoryStore, TEMP_DIR } from '../../src/runtime/directory-store.js';

const root = process.argv[2]!;
const store = await openDirectoryStore({ root, maxBytes: 1024 ** 3, maxAgeMs: 0, clock: systemClock, logger: createJsonLogger('error', () => {}), sweepIntervalMs: 0 });
const limited = spawnSync('prlimit', ['--pid', String(process.pid), '--fsize=0:0']);
if (limited.status !== 0) throw new Error(`prlimit failed: ${limited.stderr.toString()}`);

const descriptors = () => readdirSync('/proc/self/fd').length;
const before = descriptors();
const writer = store.put({ account: 'default', id: '777' }, { id: '777', mimeType: 'image/jpeg', sha256: '0'.repeat(64), size: 4 }, { waitUntil() {} })!;
const code = await writer.write(new Uint8Array(4)).then(
  () => 'written',
  (error: NodeJS.ErrnoException) => error.code ?? error.message,
);
await writer.abort(new Error('write failed'));
const after = descriptors();
console.log(JSON.stringify({ code, before, after, temporary: readdirSync(join(root, TEMP_DIR)) }));
await store.close();
