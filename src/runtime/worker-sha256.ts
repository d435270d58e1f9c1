import { toHex, type CreateSha256 } from '../hash.js';

/**
 * Incremental SHA-256 on Workers: `crypto.DigestStream` (a WritableStream that hashes what is written
 * to it) is the runtime's streaming digest; Web Crypto's `digest()` needs the whole file in memory,
 * which a streamed 100 MB document must never be.
 *
 * Writes are not awaited one by one (update is synchronous in the Sha256 interface): the sink hashes
 * in native code and keeps pace with a network body, and `digestHex` closes the stream, which waits
 * for every queued write and surfaces the first failure. The chunk is not copied: workerd does not
 * detach a buffer written to it, and the same chunk then goes on to the caller (test/worker checks
 * both, through a verified 6 MB streamed download).
 */
export const createWorkerSha256: CreateSha256 = () => {
  const digest = new crypto.DigestStream('SHA-256');
  const writer = digest.getWriter();
  let failure: unknown;
  return {
    update(chunk) {
      writer.write(chunk).catch((error: unknown) => {
        failure ??= error;
      });
    },
    async digestHex() {
      await writer.close();
      if (failure !== undefined) throw failure;
      return toHex(await digest.digest);
    },
  };
};
