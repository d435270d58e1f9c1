/**
 * Incremental SHA-256, injected per runtime: Web Crypto's `crypto.subtle.digest` only hashes a whole
 * buffer, and large files are verified while they stream. Node passes node:crypto's createHash,
 * Workers pass crypto.DigestStream (src/runtime/*).
 */
export interface Sha256 {
  update(chunk: Uint8Array): void;
  /** Lower-case hex, the form Graph's `sha256` field uses. */
  digestHex(): Promise<string>;
}

export type CreateSha256 = () => Sha256;

/** A sha256 as Graph's lookup answers it and as every tier keeps it: 64 lower-case hex digits. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let hex = '';
  for (const byte of view) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
