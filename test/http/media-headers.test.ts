import { describe, expect, it } from 'vitest';
import { BASE_HEADERS, downloadFilename, isPassiveType, MEDIA_CONTENT_SECURITY_POLICY, mediaHeaders, safeContentType } from '../../src/http/media-headers.js';

const meta = (mimeType: string) => ({ id: '1234567890', mimeType, sha256: 'a'.repeat(64), size: 10 });

describe('safeContentType: Graph mime_type is data, not trusted header text', () => {
  it.each([
    ['image/jpeg', 'image/jpeg'],
    ['IMAGE/PNG', 'image/png'],
    ['audio/ogg; codecs=opus', 'audio/ogg; codecs=opus'],
    ['text/plain; charset=utf-8', 'text/plain'],
    ['text/html\r\nset-cookie: a=b', 'application/octet-stream'],
    ['image/jpeg\nx-evil: 1', 'application/octet-stream'],
    ['', 'application/octet-stream'],
    ['image', 'application/octet-stream'],
    ['image/jpeg/extra', 'application/octet-stream'],
    ['image/svg+xml', 'image/svg+xml'],
    ['audio/ogg; codecs="opus"; x=<script>', 'audio/ogg; codecs="opus"'],
  ])('%j -> %j', (input, output) => {
    expect(safeContentType(input)).toBe(output);
  });
});

describe('which types are shown inline', () => {
  it.each(['image/jpeg', 'image/png', 'image/webp', 'audio/ogg; codecs=opus', 'audio/mpeg', 'video/mp4', 'video/3gpp', 'application/pdf', 'text/plain'])('%s is passive', (type) => {
    expect(isPassiveType(type)).toBe(true);
  });

  it.each([
    'text/html',
    'image/svg+xml',
    'application/xml',
    'text/xml',
    'application/xhtml+xml',
    'application/javascript',
    'text/javascript',
    'text/css',
    'application/json',
    'application/octet-stream',
    'application/msword',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'multipart/x-mixed-replace',
    'text/vtt',
    'application/x-shockwave-flash',
    'text/plain-but-not',
    'application/pdf+xml',
  ])('%s is active (or unknown) and goes out as an attachment', (type) => {
    expect(isPassiveType(type)).toBe(false);
    expect(mediaHeaders(meta(type), { maxAge: 60, download: false })['content-disposition']).toBe(`attachment; filename="${downloadFilename(meta(type))}"`);
  });
});

describe('mediaHeaders', () => {
  it('every media type gets the sandbox CSP, CORP cross-origin, nosniff and no-referrer, PDFs included', () => {
    for (const type of ['image/jpeg', 'application/pdf', 'text/html', 'image/svg+xml', 'video/mp4', 'text/plain']) {
      const headers = mediaHeaders(meta(type), { maxAge: 60, download: false });
      expect(headers['content-security-policy'], type).toBe(MEDIA_CONTENT_SECURITY_POLICY);
      expect(headers['cross-origin-resource-policy']).toBe('cross-origin');
      expect(headers).toMatchObject(BASE_HEADERS);
    }
    expect(MEDIA_CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim())).toEqual(["default-src 'none'", 'sandbox']);
    expect(BASE_HEADERS).toEqual({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  });

  it('passive types are inline unless ?download=1 asks for an attachment named <id>.<ext>', () => {
    expect(mediaHeaders(meta('image/jpeg'), { maxAge: 60, download: false })['content-disposition']).toBeUndefined();
    expect(mediaHeaders(meta('application/pdf'), { maxAge: 60, download: false })['content-disposition']).toBeUndefined();
    expect(mediaHeaders(meta('image/jpeg'), { maxAge: 60, download: true })['content-disposition']).toBe('attachment; filename="1234567890.jpg"');
  });

  it.each([
    ['image/jpeg', 'jpg'],
    ['image/png', 'png'],
    ['image/webp', 'webp'],
    ['audio/ogg; codecs=opus', 'ogg'],
    ['audio/mpeg', 'mp3'],
    ['audio/mp4', 'm4a'],
    ['audio/amr', 'amr'],
    ['video/mp4', 'mp4'],
    ['video/3gpp', '3gp'],
    ['application/pdf', 'pdf'],
    ['text/plain', 'txt'],
    ['text/html', 'html'],
    ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'xlsx'],
    ['application/x-unknown', 'bin'],
  ])('download filename for %s ends in .%s', (type, ext) => {
    expect(downloadFilename(meta(type))).toBe(`1234567890.${ext}`);
  });
});
