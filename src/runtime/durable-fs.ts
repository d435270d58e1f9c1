import { open, type FileHandle } from 'node:fs/promises';

/**
 * What the directory store and the prefetch journal both need to survive a crash and to share a
 * directory with other processes.
 */

/** A rename or unlink is durable only once its directory is fsync'd (POSIX leaves it to the file system). */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on a directory (EINVAL); the rename itself is still atomic.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Writes all of `bytes` at the handle's position. FileHandle.write is one write(2), which may take
 * fewer bytes than asked (a disk filling up mid-chunk): the rest is written again, and a write that
 * takes nothing fails, so a file is never committed short.
 */
export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength; ) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    if (bytesWritten <= 0) throw Object.assign(new Error('write(2) took no bytes'), { code: 'ENOSPC' });
    offset += bytesWritten;
  }
}

/** Whether a process with this pid runs on this host (files named by pid belong to it). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
