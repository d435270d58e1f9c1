/**
 * Webhook fixtures (test/fixtures/webhooks: the payload shapes Meta sends) and signing as Meta does:
 * HMAC-SHA256 of the exact body bytes with the app secret, by node:crypto, independently of the
 * proxy's Web Crypto check.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = ['image-caption-pt', 'video', 'audio-voice', 'document', 'sticker', 'status', 'batch'] as const;
export type FixtureName = (typeof FIXTURES)[number];

/** The fixture's bytes, exactly as stored (UTF-8, unescaped non-ASCII). */
export function fixture(name: FixtureName): Buffer<ArrayBuffer> {
  return Buffer.from(readFileSync(join(import.meta.dirname, '../fixtures/webhooks', `${name}.json`)));
}

export function appSecret(): string {
  return randomBytes(16).toString('hex');
}

export function signature(body: Uint8Array | string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface DeliveryOptions {
  /** The message type, and the key its media object sits under (default image). */
  readonly type?: string;
  readonly mimeType?: string;
  /** As the webhook carries it: hex or, as has been seen, base64. */
  readonly sha256?: string;
  readonly caption?: string;
}

/** A delivery with one media message per id, of the given type, shaped as Meta sends it (see the fixtures). */
export function deliveryOf(ids: readonly string[], options: DeliveryOptions = {}): string {
  const { type = 'image', mimeType = 'image/jpeg', sha256 = 'a'.repeat(64), caption } = options;
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
              messages: ids.map((id, i) => ({
                from: '5511987654321',
                id: `wamid.t${i}`,
                timestamp: '1750000000',
                type,
                [type]: { ...(caption === undefined ? {} : { caption }), mime_type: mimeType, sha256, id },
              })),
            },
          },
        ],
      },
    ],
  });
}
