/**
 * The demo's sample media (made by scripts/make-samples.sh), each under a fixed media id, with the
 * mime type Graph would announce for it and how a chat shows it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SAMPLES_DIR = join(import.meta.dirname, 'samples');

export type SampleView = 'image' | 'video' | 'audio' | 'document';

export interface Sample {
  readonly id: string;
  readonly file: string;
  /** As Graph's `mime_type` says it (voice notes carry the codecs parameter). */
  readonly mimeType: string;
  readonly view: SampleView;
  readonly caption: string;
}

export const SAMPLES: readonly Sample[] = [
  { id: '1000000000000001', file: 'photo.jpg', mimeType: 'image/jpeg', view: 'image', caption: 'Photo (JPEG)' },
  { id: '1000000000000002', file: 'video.mp4', mimeType: 'video/mp4', view: 'video', caption: 'Video (H.264, moov atom at the end)' },
  { id: '1000000000000003', file: 'voice.ogg', mimeType: 'audio/ogg; codecs=opus', view: 'audio', caption: 'Voice note (Ogg/Opus)' },
  { id: '1000000000000004', file: 'sticker.webp', mimeType: 'image/webp', view: 'image', caption: 'Sticker (WebP)' },
  { id: '1000000000000005', file: 'document.pdf', mimeType: 'application/pdf', view: 'document', caption: 'Document (PDF)' },
  { id: '1000000000000006', file: 'drawing.svg', mimeType: 'image/svg+xml', view: 'document', caption: 'Document (SVG with a script)' },
  { id: '1000000000000007', file: 'page.html', mimeType: 'text/html', view: 'document', caption: 'Document (HTML with a script)' },
];

export function sampleNamed(file: string): Sample {
  const sample = SAMPLES.find((s) => s.file === file);
  if (sample === undefined) throw new Error(`no sample named ${file}`);
  return sample;
}

export function readSample(sample: Sample): Promise<Uint8Array> {
  return readFile(join(SAMPLES_DIR, sample.file));
}
