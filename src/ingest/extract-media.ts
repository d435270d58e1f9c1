import { decodeBase64Url } from 'hono/utils/encode';
import { toHex } from '../hash.js';
import { isValidMediaId } from '../media/media-id.js';
import type { MediaHint } from './prefetch-job.js';

/**
 * The media ids in a WhatsApp webhook delivery (shared/whatsapp-webhooks.md): messages under
 * `entry[].changes[].value.messages[]` whose `type` is a media type carry the media object under the
 * key named by that type. Everything else (statuses, text, reactions, template updates, unknown
 * types) is ignored, and so is any part of the payload of an unexpected shape: it is signed by Meta,
 * but a forwarding backend may be buggy, and a field that is not an array or an object is skipped,
 * never thrown on.
 */
export const MEDIA_TYPES = ['image', 'video', 'audio', 'document', 'sticker'] as const;

export interface WebhookMedia {
  readonly id: string;
  readonly type: (typeof MEDIA_TYPES)[number];
  readonly hint: MediaHint;
}

export interface Extracted {
  readonly media: WebhookMedia[];
  /** Ids skipped because the delivery held more than `limit`. */
  readonly dropped: number;
}

/** Meta batches at most a few hundred messages; this bounds the work a hostile body can cause. */
export const MAX_IDS_PER_DELIVERY = 1000;
/** Objects visited at each level: a 1 MiB body can still hold ~500k empty array slots. */
const MAX_VISITS = 10_000;

const mediaTypes: readonly string[] = MEDIA_TYPES;

export function extractMedia(payload: unknown, limit = MAX_IDS_PER_DELIVERY): Extracted {
  const media: WebhookMedia[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  let visits = 0;
  for (const entry of records(field(payload, 'entry'))) {
    for (const change of records(field(entry, 'changes'))) {
      for (const message of records(field(field(change, 'value'), 'messages'))) {
        if (++visits > MAX_VISITS) return { media, dropped };
        const type = field(message, 'type');
        if (typeof type !== 'string' || !mediaTypes.includes(type)) continue;
        const object = field(message, type);
        const id = field(object, 'id');
        if (typeof id !== 'string' || !isValidMediaId(id) || seen.has(id)) continue;
        if (media.length >= limit) {
          dropped++;
          continue;
        }
        seen.add(id);
        media.push({ id, type: type as WebhookMedia['type'], hint: hintOf(object) });
      }
    }
  }
  return { media, dropped };
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

/** The plain objects of `value` when it is an array, at most MAX_VISITS of them. */
function* records(value: unknown): Generator<unknown> {
  if (!Array.isArray(value)) return;
  const n = Math.min(value.length, MAX_VISITS);
  for (let i = 0; i < n; i++) {
    const item: unknown = value[i];
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) yield item;
  }
}

const MIME = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/i;

function hintOf(object: unknown): MediaHint {
  const mime = field(object, 'mime_type');
  // `audio/ogg; codecs=opus` is the common voice-note form: keep only the type/subtype part.
  const mimeType = typeof mime === 'string' ? mime.split(';')[0]!.trim().toLowerCase() : undefined;
  const sha256 = normaliseSha256(field(object, 'sha256'));
  return {
    ...(mimeType !== undefined && MIME.test(mimeType) ? { mimeType } : {}),
    ...(sha256 === undefined ? {} : { sha256 }),
  };
}

/** Graph answers lower-case hex; webhooks have been seen with base64 (44 chars) of the same 32 bytes. */
export function normaliseSha256(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (/^[0-9a-fA-F]{64}$/.test(value)) return value.toLowerCase();
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return undefined;
  let bytes: Uint8Array;
  try {
    // Standard or URL-safe alphabet; atob takes the missing padding.
    bytes = decodeBase64Url(value);
  } catch {
    return undefined;
  }
  if (bytes.length !== 32) return undefined;
  return toHex(bytes);
}
