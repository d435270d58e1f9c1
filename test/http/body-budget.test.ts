import { describe, expect, it } from 'vitest';
import { isProxyError } from '../../src/errors.js';
import { createBodyBudget } from '../../src/http/body-budget.js';
import { readRequestBody } from '../../src/http/read-request-body.js';

/** A POST whose body arrives as these chunks (no Content-Length: as a chunked upload). */
function post(chunks: readonly Uint8Array[]): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return new Request('http://proxy.test/webhooks/whatsapp', { method: 'POST', body, duplex: 'half' } as RequestInit);
}

describe('createBodyBudget', () => {
  it('takes bytes while they fit, refuses the rest whole, and takes again once bytes are given back', () => {
    const budget = createBodyBudget(100);
    expect(budget.take(60)).toBe(true);
    expect(budget.take(41)).toBe(false);
    expect(budget.held).toBe(60);
    expect(budget.take(40)).toBe(true);
    budget.give(60);
    expect(budget.held).toBe(40);
    expect(budget.take(60)).toBe(true);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s bytes at construction', (max) => {
    expect(() => createBodyBudget(max)).toThrow(RangeError);
  });
});

describe('readRequestBody with a budget', () => {
  it('holds the bytes against the budget only while reading', async () => {
    const budget = createBodyBudget(1000);
    const body = await readRequestBody(post([new Uint8Array(300), new Uint8Array(200)]), 1000, { budget });
    expect(body.byteLength).toBe(500);
    expect(budget.held).toBe(0);
  });

  it('fails with server_busy (503, Retry-After) when a chunk does not fit, and gives back what it took', async () => {
    const budget = createBodyBudget(1000);
    expect(budget.take(700)).toBe(true); // another request reading meanwhile
    const error: unknown = await readRequestBody(post([new Uint8Array(200), new Uint8Array(200)]), 1000, { budget }).catch((e: unknown) => e);
    expect(isProxyError(error) && { code: error.code, status: error.status, retryAfter: error.retryAfter }).toEqual({ code: 'server_busy', status: 503, retryAfter: 5 });
    expect(budget.held).toBe(700);
  });

  it('gives back what it took when the body is over its own limit', async () => {
    const budget = createBodyBudget(10_000);
    const error: unknown = await readRequestBody(post([new Uint8Array(600), new Uint8Array(600)]), 1000, { budget }).catch((e: unknown) => e);
    expect(isProxyError(error) && error.code).toBe('payload_too_large');
    expect(budget.held).toBe(0);
  });

  it('fails with request_timeout (408) when the body has not arrived by the deadline, and gives back what it took', async () => {
    const budget = createBodyBudget(10_000);
    // 100 bytes, then nothing more: a sender that trickles or stalls.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(100));
      },
    });
    const request = new Request('http://proxy.test/webhooks/whatsapp', { method: 'POST', body, duplex: 'half' } as RequestInit);
    const error: unknown = await readRequestBody(request, 1000, { budget, deadlineMs: 50 }).catch((e: unknown) => e);
    expect(isProxyError(error) && { code: error.code, status: error.status }).toEqual({ code: 'request_timeout', status: 408 });
    expect(budget.held).toBe(0);
  });

  it('reads a body that arrives in time whole, deadline or not', async () => {
    const body = await readRequestBody(post([new Uint8Array(300), new Uint8Array(200)]), 1000, { deadlineMs: 5_000 });
    expect(body.byteLength).toBe(500);
  });
});
