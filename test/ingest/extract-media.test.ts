import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidMediaId } from '../../src/media/media-id.js';
import { extractMedia, normaliseSha256 } from '../../src/ingest/extract-media.js';
import { deliveryOf, fixture, type FixtureName } from '../support/webhooks.js';

const parse = (name: FixtureName): unknown => JSON.parse(fixture(name).toString('utf8'));

describe('media ids from a webhook delivery', () => {
  it('takes the media object named by `type` for each media type, with mime_type and sha256 as hints', () => {
    expect(extractMedia(parse('image-caption-pt')).media).toEqual([
      // The webhook's base64 sha256 is turned into the hex Graph answers.
      { id: '1003383421387256', type: 'image', hint: { mimeType: 'image/jpeg', sha256: Buffer.from('ZfD8VNlhD0qZ7NPZ9ZwyCIk5g1WXrLbSe7kqGmDJNyw=', 'base64').toString('hex') } },
    ]);
    expect(extractMedia(parse('video')).media).toEqual([{ id: '1003383421387257', type: 'video', hint: { mimeType: 'video/mp4', sha256: '8e1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9' } }]);
    // A voice note's `audio/ogg; codecs=opus` keeps its type/subtype only.
    expect(extractMedia(parse('audio-voice')).media).toMatchObject([{ id: '1003383421387258', type: 'audio', hint: { mimeType: 'audio/ogg' } }]);
    expect(extractMedia(parse('document')).media).toMatchObject([{ id: '1003383421387259', type: 'document', hint: { mimeType: 'application/pdf' } }]);
    expect(extractMedia(parse('sticker')).media).toMatchObject([{ id: '1003383421387260', type: 'sticker', hint: { mimeType: 'image/webp' } }]);
  });

  it('finds nothing in a status update', () => {
    expect(extractMedia(parse('status'))).toEqual({ media: [], dropped: 0 });
  });

  it('takes every media message of a batch of entries and changes, skipping text, reactions, locations, statuses and template updates', () => {
    expect(extractMedia(parse('batch')).media.map((m) => [m.type, m.id])).toEqual([
      ['image', '2003383421387261'],
      ['audio', '2003383421387262'],
      ['document', '2003383421387263'],
      ['video', '2003383421387264'],
      ['sticker', '2003383421387265'],
    ]);
  });

  it('ignores hostile shapes without throwing', () => {
    const hostile: unknown[] = [
      null,
      42,
      'entry',
      [],
      { entry: null },
      { entry: {} },
      { entry: 'x' },
      { entry: [null, 1, 'x', [], { changes: null }, { changes: {} }, { changes: [null, { value: null }, { value: { messages: {} } }, { value: { messages: 'x' } }]}] },
      { entry: [{ changes: [{ value: { messages: [null, 1, [], { type: 'image' }, { type: 'image', image: null }, { type: 'image', image: [] }, { type: 'image', image: { id: 123 } }, { type: 'image', image: { id: '12ab' } }, { type: 'image', image: { id: '1'.repeat(33) } }, { type: ['image'], image: { id: '5' } }, { type: 'toString', toString: { id: '6' } }, { type: 'constructor', constructor: { id: '7' } }] } }] }] },
      JSON.parse('{"entry":[{"changes":[{"value":{"messages":[{"type":"image","__proto__":{"image":{"id":"8"}}}]}}]}]}'),
    ];
    for (const payload of hostile) expect(extractMedia(payload)).toEqual({ media: [], dropped: 0 });
  });

  it('ignores a hint of the wrong shape but keeps the id', () => {
    const payload = JSON.parse(deliveryOf(['123']));
    payload.entry[0].changes[0].value.messages[0].image = { id: '123', mime_type: '<script>', sha256: 'not-a-hash' };
    expect(extractMedia(payload).media).toEqual([{ id: '123', type: 'image', hint: {} }]);
  });

  it('takes an id once per delivery, and at most `limit` ids, counting the rest as dropped', () => {
    expect(extractMedia(JSON.parse(deliveryOf(['1', '1', '2']))).media.map((m) => m.id)).toEqual(['1', '2']);
    const many = Array.from({ length: 30 }, (_, i) => String(1000 + i));
    expect(extractMedia(JSON.parse(deliveryOf(many)), 10)).toMatchObject({ dropped: 20, media: many.slice(0, 10).map((id) => ({ id })) });
  });

  it('stops visiting after a bounded number of messages in a huge array', () => {
    const payload = { entry: [{ changes: [{ value: { messages: [...Array.from({ length: 200_000 }, () => ({ type: 'text' })), { type: 'image', image: { id: '9' } }] } }] }] };
    const started = performance.now();
    expect(extractMedia(payload).media).toEqual([]);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('extraction properties', () => {
  it('never throws on any JSON, and takes only valid media ids, each once', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        const { media } = extractMedia(value);
        expect(media.every((m) => isValidMediaId(m.id))).toBe(true);
        expect(new Set(media.map((m) => m.id)).size).toBe(media.length);
      }),
      { numRuns: 500 },
    );
  });

  it('takes exactly the media messages of a delivery, whatever else is mixed in', () => {
    const mediaMessage = fc.record({ type: fc.constantFrom('image', 'video', 'audio', 'document', 'sticker'), id: fc.stringMatching(/^[0-9]{1,20}$/) });
    const otherMessage = fc.oneof(fc.constant({ type: 'text', text: { body: 'oi' } }), fc.constant({ type: 'reaction', reaction: { emoji: '👍' } }), fc.jsonValue({ maxDepth: 2 }));
    const message = fc.oneof(mediaMessage.map((m) => ({ kind: 'media' as const, m })), otherMessage.map((o) => ({ kind: 'other' as const, o })));
    fc.assert(
      fc.property(fc.array(fc.array(fc.array(message, { maxLength: 6 }), { maxLength: 3 }), { maxLength: 3 }), (entries) => {
        const payload = {
          object: 'whatsapp_business_account',
          entry: entries.map((changes) => ({ changes: changes.map((messages) => ({ field: 'messages', value: { messages: messages.map((x) => (x.kind === 'media' ? { type: x.m.type, [x.m.type]: { id: x.m.id } } : x.o)) } })) })),
        };
        const expected = [...new Set(entries.flat(2).flatMap((x) => (x.kind === 'media' ? [x.m.id] : [])))];
        expect(extractMedia(payload).media.map((m) => m.id)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('normaliseSha256', () => {
  it('keeps hex (lower-cased), decodes base64 and base64url of 32 bytes, refuses anything else', () => {
    expect(normaliseSha256('AB'.repeat(32))).toBe('ab'.repeat(32));
    expect(normaliseSha256(Buffer.alloc(32, 0xfb).toString('base64'))).toBe('fb'.repeat(32));
    expect(normaliseSha256(Buffer.alloc(32, 0xfb).toString('base64url'))).toBe('fb'.repeat(32));
    for (const bad of [undefined, 5, '', 'ab'.repeat(31), Buffer.alloc(31).toString('base64'), '!'.repeat(44)]) expect(normaliseSha256(bad)).toBeUndefined();
  });
});
