/**
 * A file system error as the store may log it: Node's messages carry the full path (`ENOTDIR: not a
 * directory, open '<root>/.tmp/…'`), and the store's root is a host's mount point, which no log line
 * names (the start line says `store: "directory"`, never where). Keeps the code and the syscall.
 */
export function withoutPath(error: unknown): unknown {
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  if (!(error instanceof Error) || typeof code !== 'string') return error;
  const plain = new Error(`${code}: ${syscall ?? 'file system call'} failed`);
  return Object.assign(plain, { code, ...(syscall ? { syscall } : {}) });
}
