/**
 * HTTP with retries: exponential backoff with full jitter on network errors, 5xx and
 * 429 (honouring `Retry-After`), never on other 4xx.  Errors become typed SDKErrors.
 */
import { SDKError, fromServer } from '../errors';

export interface RetryPolicy {
  /** Retries after the first attempt (0 disables). */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Retry network errors and 5xx (false: only 429, for requests that must not repeat). */
  retryUnsafe: boolean;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 3, baseDelayMs: 300, maxDelayMs: 5000, retryUnsafe: true };

export interface HttpOptions {
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SDKError('aborted', 'aborted by the caller'));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new SDKError('aborted', 'aborted by the caller'));
      },
      { once: true },
    );
  });
}

/** `Retry-After` in ms (delta-seconds or an HTTP date), or null. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Full jitter: a random delay in [0.5, 1] × min(max, base × 2^attempt). */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(ceiling * (0.5 + random() / 2));
}

function retriable(status: number, policy: RetryPolicy): boolean {
  return status === 429 || (policy.retryUnsafe && status >= 500);
}

/** fetch with the retry policy; resolves with the final Response (ok or not). */
export async function fetchWithRetry(url: string, init: RequestInit, options: HttpOptions = {}): Promise<Response> {
  const policy = { ...DEFAULT_RETRY, ...options.retry };
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const wait = options.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await doFetch(url, { ...init, signal: options.signal ?? null });
    } catch (error) {
      if (options.signal?.aborted) throw new SDKError('aborted', 'aborted by the caller', { cause: error });
      if (!policy.retryUnsafe || attempt >= policy.retries) {
        throw new SDKError('network_error', 'the server could not be reached', { cause: error });
      }
      await wait(backoffMs(attempt, policy, options.random), options.signal);
      continue;
    }
    if (!retriable(response.status, policy) || attempt >= policy.retries) return response;
    const hinted = retryAfterMs(response.headers.get('Retry-After'));
    const delay = hinted !== null ? Math.min(hinted, 60_000) : backoffMs(attempt, policy, options.random);
    await wait(delay, options.signal);
  }
}

/** JSON request: the parsed body of a 2xx, or a typed SDKError from the server's answer. */
export async function requestJson<T>(url: string, init: RequestInit, options: HttpOptions = {}): Promise<T> {
  const response = await fetchWithRetry(url, init, options);
  let body: unknown = null;
  const text = await response.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      if (response.ok) throw new SDKError('invalid_response', 'the server sent something that is not JSON', { status: response.status });
    }
  }
  if (!response.ok) throw fromServer(response.status, body, response.headers.get('WWW-Authenticate'));
  return body as T;
}

/** An `application/x-www-form-urlencoded` POST body. */
export function form(fields: Record<string, string | undefined>): RequestInit {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) params.set(key, value);
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: params.toString(),
    credentials: 'omit',
  };
}
