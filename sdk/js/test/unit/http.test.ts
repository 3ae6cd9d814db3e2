import { describe, expect, it, vi } from 'vitest';
import { InsufficientCreditsError, InsufficientScopeError, SDKError, fromServer, isSDKError, parseChallenge } from '../../src/errors';
import { DEFAULT_RETRY, backoffMs, fetchWithRetry, requestJson, retryAfterMs } from '../../src/internal/http';

function responses(...items: Array<Response | Error>) {
  const queue = [...items];
  return vi.fn(async () => {
    const next = queue.shift();
    if (!next) throw new Error('no more responses');
    if (next instanceof Error) throw next;
    return next;
  });
}

const ok = () => new Response('{"ok":true}', { status: 200 });
const status = (code: number, headers: Record<string, string> = {}, body = '{}') => new Response(body, { status: code, headers });

describe('retries', () => {
  it.each([
    ['a network error', new TypeError('Failed to fetch')],
    ['a 500', status(500)],
    ['a 502', status(502)],
    ['a 503', status(503)],
    ['a 429', status(429)],
  ])('retries after %s', async (_, first) => {
    const fetch = responses(first, ok());
    const sleep = vi.fn(async () => {});
    const response = await fetchWithRetry('https://x', {}, { fetch, sleep });
    expect(response.status).toBe(200);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(sleep).toHaveBeenCalledTimes(1);
  });

  it.each([400, 401, 402, 403, 404, 409, 422])('never retries a %i', async (code) => {
    const fetch = responses(status(code), ok());
    const response = await fetchWithRetry('https://x', {}, { fetch, sleep: async () => {} });
    expect(response.status).toBe(code);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('honours Retry-After (seconds and HTTP date)', async () => {
    const sleep = vi.fn(async () => {});
    await fetchWithRetry('https://x', {}, { fetch: responses(status(429, { 'Retry-After': '7' }), ok()), sleep });
    expect(sleep).toHaveBeenCalledWith(7000, undefined);
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(retryAfterMs('soon')).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });

  it('gives up after the configured retries with the last answer', async () => {
    const fetch = responses(status(503), status(503), status(503));
    const response = await fetchWithRetry('https://x', {}, { fetch, sleep: async () => {}, retry: { retries: 2 } });
    expect(response.status).toBe(503);
    expect(fetch).toHaveBeenCalledTimes(3);
    const down = responses(new TypeError('x'), new TypeError('x'));
    const error = await fetchWithRetry('https://x', {}, { fetch: down, sleep: async () => {}, retry: { retries: 1 } }).catch((e) => e);
    expect(error.code).toBe('network_error');
  });

  it('retries only 429 for requests that must not repeat (token requests)', async () => {
    const fetch = responses(status(500), ok());
    const response = await fetchWithRetry('https://x', {}, { fetch, sleep: async () => {}, retry: { retryUnsafe: false } });
    expect(response.status).toBe(500);
    const lost = responses(new TypeError('x'), ok());
    expect((await fetchWithRetry('https://x', {}, { fetch: lost, sleep: async () => {}, retry: { retryUnsafe: false } }).catch((e) => e)).code).toBe('network_error');
    expect(lost).toHaveBeenCalledTimes(1);
  });

  it('backs off exponentially with jitter, capped', () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffMs(0, policy, () => 0)).toBe(50);
    expect(backoffMs(0, policy, () => 1)).toBe(100);
    expect(backoffMs(3, policy, () => 1)).toBe(800);
    expect(backoffMs(10, policy, () => 1)).toBe(1000);
    for (let i = 0; i < 20; i++) {
      const delay = backoffMs(2, policy);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(400);
    }
  });

  it('stops waiting when aborted', async () => {
    const controller = new AbortController();
    const fetch = responses(status(503), ok());
    const pending = fetchWithRetry('https://x', {}, { fetch, signal: controller.signal, retry: { baseDelayMs: 10_000 } });
    controller.abort();
    expect((await pending.catch((e) => e)).code).toBe('aborted');
  });
});

describe('typed errors from the server', () => {
  it('insufficient_credits carries the balance', async () => {
    const body = JSON.stringify({ error: 'insufficient_credits', error_description: 'Not enough credits.', balance: 3, available: 1 });
    const error = await requestJson('https://x', {}, { fetch: responses(status(402, {}, body)) }).catch((e) => e);
    expect(error).toBeInstanceOf(InsufficientCreditsError);
    expect(error).toBeInstanceOf(SDKError);
    expect([error.code, error.status, error.balance, error.available, error.message]).toEqual(['insufficient_credits', 402, 3, 1, 'Not enough credits.']);
  });

  it('insufficient_scope names the scope from the RFC 6750 challenge', () => {
    const error = fromServer(403, { error: 'insufficient_scope' }, 'Bearer error="insufficient_scope", error_description="needs \\"more\\"", scope="credits:consume"');
    expect(error).toBeInstanceOf(InsufficientScopeError);
    expect((error as InsufficientScopeError).scope).toBe('credits:consume');
  });

  it('a bare 401 challenge is invalid_token when the header says so', () => {
    const error = fromServer(401, null, 'Bearer error="invalid_token", error_description="expired"');
    expect([error.code, error.description]).toEqual(['invalid_token', 'expired']);
    expect(parseChallenge('Basic realm="x"')).toEqual({});
  });

  it.each([
    [409, 'idempotency_key_reused'],
    [400, 'login_required'],
    [400, 'invalid_grant'],
    [503, 'payments_not_configured'],
  ])('%i %s keeps the server code', (code, error) => {
    const found = fromServer(code, { error, error_description: 'd', extra: 1 });
    expect([found.code, found.status, found.details]).toEqual([error, code, { extra: 1 }]);
    expect(isSDKError(found, error)).toBe(true);
    expect(isSDKError(found, 'other')).toBe(false);
  });

  it('a body that is not JSON still gives a typed error', async () => {
    const error = await requestJson('https://x', {}, { fetch: responses(status(404, {}, '<html>')) }).catch((e) => e);
    expect([error.code, error.status]).toEqual(['invalid_request', 404]);
    const server = await requestJson('https://x', {}, { fetch: responses(status(500, {}, ''), status(500, {}, ''), status(500, {}, ''), status(500, {}, '')), sleep: async () => {} }).catch((e) => e);
    expect(server.code).toBe('server_error');
    const garbage = await requestJson('https://x', {}, { fetch: responses(status(200, {}, 'not json')) }).catch((e) => e);
    expect(garbage.code).toBe('invalid_response');
  });
});
