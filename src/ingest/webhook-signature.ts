/**
 * Meta signs every webhook delivery: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw
 * request body bytes keyed with the app secret. It is checked over those bytes, before anything is
 * parsed: re-serialising the parsed JSON changes key order, spacing and escapes (whatsapp-api-js
 * ships an `escapeUnicode` step for exactly that mistake) and would not verify.
 */
export type VerifySignature = (body: Uint8Array<ArrayBuffer>, header: string | undefined) => Promise<boolean>;

const HEADER = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * Every secret is tried (rotation: the old and the new app secret are both accepted for a while).
 * crypto.subtle.verify compares the MAC in constant time (Node: CRYPTO_memcmp; workerd: BoringSSL),
 * unlike the `!==` seen in several projects; the header's format and length are public, so checking
 * them first leaks nothing.
 */
export function createSignatureVerifier(secrets: readonly string[]): VerifySignature {
  const encoder = new TextEncoder();
  const keys = secrets.map((secret) => crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']));
  return async (body, header) => {
    const hex = header === undefined ? undefined : HEADER.exec(header.trim())?.[1];
    if (hex === undefined) return false;
    const mac = hexBytes(hex);
    let valid = false;
    // No early exit: every key is tried, so the time taken does not say which secret matched.
    for (const key of keys) if (await crypto.subtle.verify('HMAC', await key, mac, body)) valid = true;
    return valid;
  };
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
