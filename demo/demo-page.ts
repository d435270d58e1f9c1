/**
 * The demo's chat-like page: each sample through the proxy, shown the way a chat shows it. Pure: it
 * gets the links already minted.
 */
import type { Sample } from './samples.js';

export interface PageItem {
  readonly sample: Sample;
  /** The proxy URL with its caller token. */
  readonly url: string;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function mediaElement({ sample, url }: PageItem): string {
  const src = escapeHtml(url);
  const id = escapeHtml(sample.id);
  switch (sample.view) {
    case 'image':
      return `<img data-media-id="${id}" src="${src}" alt="${escapeHtml(sample.caption)}">`;
    // crossorigin: the page may read the frames it shows (a thumbnail, a test drawing one on a
    // canvas); the demo starts the proxy with CORS_ORIGINS set to this page's origin.
    case 'video':
      return `<video data-media-id="${id}" src="${src}" controls preload="metadata" crossorigin="anonymous"></video>`;
    case 'audio':
      return `<audio data-media-id="${id}" src="${src}" controls preload="metadata"></audio>`;
    case 'document':
      return `<a data-media-id="${id}" href="${src}" target="_blank" rel="noopener">${escapeHtml(sample.file)}</a>`;
  }
}

export function renderDemoPage(items: readonly PageItem[], proxyUrl: string): string {
  const bubbles = items
    .map((item) => `<figure class="bubble">${mediaElement(item)}<figcaption>${escapeHtml(item.sample.caption)} · media id ${escapeHtml(item.sample.id)}</figcaption></figure>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>whatsapp-media-proxy demo</title>
<style>
  body { font-family: system-ui, sans-serif; background: #efeae2; margin: 0; padding: 1rem; }
  h1 { font-size: 1.1rem; margin: 0 0 .25rem; }
  p { margin: 0 0 1rem; color: #444; font-size: .9rem; }
  main { display: flex; flex-direction: column; gap: .75rem; max-width: 40rem; }
  .bubble { background: #fff; border-radius: .5rem; padding: .5rem; margin: 0; align-self: flex-start; box-shadow: 0 1px 1px #0002; }
  .bubble img, .bubble video { display: block; max-width: 100%; max-height: 16rem; border-radius: .25rem; }
  figcaption { font-size: .75rem; color: #667; margin-top: .25rem; }
</style>
</head>
<body>
<h1>whatsapp-media-proxy demo</h1>
<p>Every item below is served by the proxy at ${escapeHtml(proxyUrl)} through a link minted with mediaUrl: one token per media id, the same all through the hour, so a reload is answered by your browser's cache. The proxy fetched each from a local stand-in for Graph and its CDN.</p>
<main>
${bubbles}
</main>
</body>
</html>
`;
}
