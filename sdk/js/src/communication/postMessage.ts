/**
 * The postMessage layer: one typed, versioned envelope `{ v, type, id, state?, payload }`
 * shared with the hosted pages, explicit target origins only, an origin allow-list,
 * correlation by `state`, timeouts and abort.
 */
import { SDKError } from '../errors';

export const ENVELOPE_VERSION = 1;

/** Message types exchanged with popups (the hosted purchase page uses the same). */
export type MessageType =
  | 'cas:login:result'
  | 'cas:purchase:result';

export interface Envelope<P = unknown> {
  v: typeof ENVELOPE_VERSION;
  type: MessageType | (string & {});
  /** Correlation id of this message. */
  id: string;
  /** The request this answers (OAuth `state`, or the purchase's correlation id). */
  state?: string;
  payload: P;
}

export function randomId(bytes = 16): string {
  const data = new Uint8Array(bytes);
  crypto.getRandomValues(data);
  let text = '';
  for (const b of data) text += b.toString(16).padStart(2, '0');
  return text;
}

export function createEnvelope<P>(type: string, payload: P, state?: string): Envelope<P> {
  const envelope: Envelope<P> = { v: ENVELOPE_VERSION, type, id: randomId(8), payload };
  if (state !== undefined) envelope.state = state;
  return envelope;
}

/** The envelope in `data`, or null when it is not one of ours (wrong version or shape). */
export function parseEnvelope(data: unknown): Envelope | null {
  if (!data || typeof data !== 'object') return null;
  const d = data as Record<string, unknown>;
  if (d.v !== ENVELOPE_VERSION || typeof d.type !== 'string' || typeof d.id !== 'string') return null;
  if (d.state !== undefined && typeof d.state !== 'string') return null;
  if (!('payload' in d)) return null;
  return d as unknown as Envelope;
}

/** The origin of a URL (`https://app.example:8443`), lower-cased by the URL parser. */
export function originOf(url: string): string {
  return new URL(url).origin;
}

/** Post with an explicit target origin; `*` is refused. */
export function postEnvelope(target: Window, envelope: Envelope, targetOrigin: string): void {
  if (!targetOrigin || targetOrigin === '*') {
    throw new SDKError('invalid_request', 'postMessage needs an explicit target origin');
  }
  target.postMessage(envelope, targetOrigin);
}

export interface WaitOptions {
  /** The window whose `message` events are read (the opener). */
  window: Window;
  /** Origins a message may come from (the allow-list). */
  origins: readonly string[];
  /** The window that must have sent it (the popup); null accepts any source. */
  source: () => Window | null;
  types: readonly string[];
  state: string;
  /** A BroadcastChannel name to listen on as well (COOP may sever `window.opener`). */
  channel?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Polled every `pollMs`; a true answer settles with `popup_closed` (after a grace period). */
  closed?: () => boolean;
  pollMs?: number;
  closedGraceMs?: number;
}

/**
 * Resolve with the first envelope that matches origin, source, type and state; reject
 * with `timeout`, `aborted` or `popup_closed`.  Every other message is ignored.
 */
export function waitForMessage(options: WaitOptions): Promise<Envelope> {
  return new Promise((resolve, reject) => {
    const cleanups: Array<() => void> = [];
    const settle = (fn: () => void) => {
      for (const cleanup of cleanups.splice(0)) cleanup();
      fn();
    };
    const accept = (data: unknown): boolean => {
      const envelope = parseEnvelope(data);
      if (!envelope || !options.types.includes(envelope.type) || envelope.state !== options.state) {
        return false;
      }
      settle(() => resolve(envelope));
      return true;
    };
    const onMessage = (event: MessageEvent) => {
      if (!options.origins.includes(event.origin)) return;
      const expected = options.source();
      if (expected !== null && event.source !== expected) return;
      accept(event.data);
    };
    options.window.addEventListener('message', onMessage);
    cleanups.push(() => options.window.removeEventListener('message', onMessage));

    if (options.channel && typeof BroadcastChannel !== 'undefined') {
      const channel = new BroadcastChannel(options.channel);
      channel.onmessage = (event) => accept(event.data);
      cleanups.push(() => channel.close());
    }
    const timer = setTimeout(
      () => settle(() => reject(new SDKError('timeout', 'no answer before the timeout'))),
      options.timeoutMs,
    );
    cleanups.push(() => clearTimeout(timer));

    if (options.signal) {
      const onAbort = () => settle(() => reject(new SDKError('aborted', 'aborted by the caller')));
      if (options.signal.aborted) return onAbort();
      options.signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => options.signal?.removeEventListener('abort', onAbort));
    }
    if (options.closed) {
      const isClosed = options.closed;
      let closedSince = 0;
      const poll = setInterval(() => {
        if (!isClosed()) return;
        closedSince ||= Date.now();
        // A message the popup posted just before closing may still be in flight.
        if (Date.now() - closedSince >= (options.closedGraceMs ?? 1000)) {
          settle(() => reject(new SDKError('popup_closed', 'the popup was closed')));
        }
      }, options.pollMs ?? 250);
      cleanups.push(() => clearInterval(poll));
    }
  });
}
