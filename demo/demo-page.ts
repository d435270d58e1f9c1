/**
 * The demo's chat-like page: each sample through the proxy, shown the way a chat shows it. Pure: it
 * gets the links already minted.
 */
import type { ViewReport } from './receive-message.js';
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

/** One chat bubble; the "receive" button's photo comes as one too, rendered here. */
export function renderBubble(item: PageItem): string {
  return `<figure class="bubble">${mediaElement(item)}<figcaption>${escapeHtml(item.sample.caption)} · media id ${escapeHtml(item.sample.id)}</figcaption></figure>`;
}

const TIERS: Readonly<Record<string, string>> = { 'hit:store': "the proxy's store", 'hit:memory': "the proxy's memory cache" };

/** The caption under a received photo once it is shown: where the proxy's answer came from, counted. */
export function describeView(report: ViewReport): string {
  const lookups = report.now.graphLookups - report.ingested.graphLookups;
  const downloads = report.now.cdnDownloads - report.ingested.cdnDownloads;
  const from = typeof report.cache === 'string' && TIERS[report.cache] !== undefined ? `Served from ${TIERS[report.cache]}` : `Served with cache "${String(report.cache)}"`;
  const atView = lookups === 0 && downloads === 0 ? 'no Graph lookup and no CDN download at view time' : `${lookups} Graph lookup(s) and ${downloads} CDN download(s) at view time`;
  return `${from} (its log line for this view: cache ${String(report.cache)}); the webhook ingestion put it there before you looked: ${atView} (for this id, Graph lookups ${report.ingested.graphLookups} → ${report.now.graphLookups}, CDN downloads ${report.ingested.cdnDownloads} → ${report.now.cdnDownloads}).`;
}

/**
 * The button's script: the demo's server does the receiving (it holds the app secret; this page never
 * sees it) and answers once the proxy has ingested the photo; the page then shows it through the
 * proxy and asks the server how the proxy answered that view.
 */
const RECEIVE_SCRIPT = `
(() => {
  const button = document.getElementById('receive');
  const status = document.getElementById('receive-status');
  const main = document.querySelector('main');
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'Receiving: the demo server signs a webhook delivery and posts it to the proxy, which ingests the photo…';
    try {
      const answer = await fetch('/messages', { method: 'POST' });
      if (!answer.ok) throw new Error(await answer.text());
      const { id, bubble } = await answer.json();
      main.insertAdjacentHTML('beforeend', bubble);
      const figure = main.lastElementChild;
      figure.dataset.received = id;
      figure.scrollIntoView({ block: 'nearest' });
      status.textContent = 'Ingested: the store has it; showing it through the proxy…';
      await figure.querySelector('img').decode();
      const view = await fetch('/messages/' + id + '/view');
      if (!view.ok) throw new Error(await view.text());
      const report = await view.json();
      const note = document.createElement('p');
      note.className = 'provenance';
      note.textContent = report.summary;
      figure.append(note);
      figure.dataset.cache = String(report.cache);
      figure.dataset.state = 'shown';
      status.textContent = '';
    } catch (error) {
      status.textContent = 'Receiving failed: ' + error.message;
    } finally {
      button.disabled = false;
    }
  });
})();
`;

export function renderDemoPage(items: readonly PageItem[], proxyUrl: string): string {
  const bubbles = items.map(renderBubble).join('\n');
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
  figcaption, .provenance { font-size: .75rem; color: #667; margin-top: .25rem; }
  .provenance { max-width: 24rem; margin-bottom: 0; color: #075e54; }
</style>
</head>
<body>
<h1>whatsapp-media-proxy demo</h1>
<p>Every item below is served by the proxy at ${escapeHtml(proxyUrl)} through a link minted with mediaUrl: one token per media id, the same all through the hour, so a reload is answered by your browser's cache. The proxy fetched each from a local stand-in for Graph and its CDN.</p>
<p><button id="receive" type="button">Receive a new message</button> <span id="receive-status" role="status"></span><br>
The button has the demo's server (which holds the app secret; this page never sees it) add a new photo to the stand-in, sign a webhook delivery for it and post it to the proxy's /webhooks/whatsapp. The proxy stores the photo as it arrives; the page shows it once that is done, and says where the proxy's answer came from.</p>
<main>
${bubbles}
</main>
<script>${RECEIVE_SCRIPT}</script>
</body>
</html>
`;
}
