import { describe, expect, it } from 'vitest';
import type { MediaMeta } from '../../src/cache/media-tier.js';
import { decodeHeader, encodeHeader, MAX_HEADER_BYTES, PREAMBLE_BYTES } from '../../src/runtime/stored-file.js';

const meta: MediaMeta = { id: '1234567890', mimeType: 'image/jpeg', sha256: 'ab'.repeat(32), size: 5000 };
const key = { account: 'default', id: meta.id };

/** A header as stored, with `json` in place of the encoder's own (for headers we never write). */
function withJson(json: string): Uint8Array {
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(PREAMBLE_BYTES + body.byteLength);
  out.set(encodeHeader('default', meta).subarray(0, 5), 0);
  new DataView(out.buffer).setUint32(5, body.byteLength);
  out.set(body, PREAMBLE_BYTES);
  return out;
}

describe('stored file header', () => {
  it('reads back what it wrote, with the offset of the first media byte', () => {
    const header = encodeHeader('default', meta);
    const decoded = decodeHeader(header, header.byteLength + meta.size, key);
    expect(decoded).toEqual({ account: 'default', meta, dataOffset: header.byteLength });
  });

  it('reads the header from a file head that also holds media bytes', () => {
    const header = encodeHeader('default', meta);
    const head = new Uint8Array(header.byteLength + 100).fill(0xff);
    head.set(header, 0);
    expect(decodeHeader(head, header.byteLength + meta.size, key)?.meta).toEqual(meta);
  });

  it('refuses a file cut short or grown: the length must be header plus announced size', () => {
    const header = encodeHeader('default', meta);
    expect(decodeHeader(header, header.byteLength + meta.size - 1, key)).toBeUndefined();
    expect(decodeHeader(header, header.byteLength + meta.size + 1, key)).toBeUndefined();
  });

  it('refuses a file that is not ours: wrong magic, version, or a header longer than any we write', () => {
    const header = encodeHeader('default', meta);
    const fileBytes = header.byteLength + meta.size;
    const badMagic = header.slice();
    badMagic[0] = 0x00;
    expect(decodeHeader(badMagic, fileBytes, key)).toBeUndefined();
    const badVersion = header.slice();
    badVersion[4] = 2;
    expect(decodeHeader(badVersion, fileBytes, key)).toBeUndefined();
    const huge = header.slice();
    new DataView(huge.buffer).setUint32(5, MAX_HEADER_BYTES + 1);
    expect(decodeHeader(huge, fileBytes, key)).toBeUndefined();
    expect(decodeHeader(header.subarray(0, PREAMBLE_BYTES - 1), fileBytes, key)).toBeUndefined();
    // The preamble announces more header than the bytes read hold.
    expect(decodeHeader(header.subarray(0, header.byteLength - 1), fileBytes, key)).toBeUndefined();
  });

  it('refuses a header of another id or account (a file renamed into the wrong place)', () => {
    const header = encodeHeader('default', meta);
    const fileBytes = header.byteLength + meta.size;
    expect(decodeHeader(header, fileBytes, { account: 'default', id: '999' })).toBeUndefined();
    expect(decodeHeader(header, fileBytes, { account: 'other', id: meta.id })).toBeUndefined();
  });

  it('refuses headers whose fields are missing or malformed', () => {
    const fields = { account: 'default', id: meta.id, mimeType: meta.mimeType, sha256: meta.sha256, size: meta.size };
    const cases: Array<Record<string, unknown> | string> = [
      'not json',
      '[1,2]',
      'null',
      { ...fields, mimeType: '' },
      { ...fields, mimeType: 7 },
      // Types the proxy never writes (it stores safeContentType's output): a header it would send as found.
      { ...fields, mimeType: 'text/html\r\nx-injected: 1' },
      { ...fields, mimeType: 'IMAGE/JPEG' },
      { ...fields, mimeType: 'text/html; charset=<script>' },
      { ...fields, sha256: 'AB'.repeat(32) },
      { ...fields, sha256: 'ab'.repeat(31) },
      { ...fields, size: -1 },
      { ...fields, size: 1.5 },
      { ...fields, size: '5000' },
    ];
    for (const c of cases) {
      const head = withJson(typeof c === 'string' ? c : JSON.stringify(c));
      const size = typeof c === 'object' && typeof c.size === 'number' && c.size >= 0 ? c.size : meta.size;
      expect(decodeHeader(head, head.byteLength + Math.floor(size), key), JSON.stringify(c)).toBeUndefined();
    }
    // The control: the same helper with valid fields is read...
    const valid = withJson(JSON.stringify(fields));
    expect(decodeHeader(valid, valid.byteLength + meta.size, key)?.meta).toEqual(meta);
    // ...and is refused once one byte of its JSON is not UTF-8.
    const invalid = valid.slice();
    invalid[PREAMBLE_BYTES + JSON.stringify(fields).indexOf('jpeg')] = 0xff;
    expect(decodeHeader(invalid, invalid.byteLength + meta.size, key)).toBeUndefined();
  });

  it('keeps only the fields it knows: no token or URL can ride along in a header it writes', () => {
    const smuggled = { ...meta, url: 'https://cdn.example/x?hash=secret' } as MediaMeta;
    const json = new TextDecoder().decode(encodeHeader('default', smuggled).subarray(PREAMBLE_BYTES));
    expect(JSON.parse(json)).toEqual({ account: 'default', id: meta.id, mimeType: meta.mimeType, sha256: meta.sha256, size: meta.size });
  });
});
