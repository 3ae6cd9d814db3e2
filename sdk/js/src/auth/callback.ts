/**
 * The partner's callback page, in the popup: `completePopupLogin()` hands the answer to
 * the opener by postMessage (target origin: this page's own origin, the opener's) and,
 * because a Cross-Origin-Opener-Policy may have severed `window.opener`, also on a
 * BroadcastChannel named after `state`.  Then it clears the URL and closes the popup.
 */
import { createEnvelope, postEnvelope } from '../communication/postMessage';

export const LOGIN_RESULT = 'cas:login:result';
/** A popup sign-in's `state` starts with this, a redirect sign-in's with `r.`. */
export const POPUP_STATE_PREFIX = 'p.';
export const REDIRECT_STATE_PREFIX = 'r.';

export interface LoginResultPayload {
  code?: string;
  iss?: string;
  error?: string;
  error_description?: string;
}

/**
 * Call on the callback page.  Returns true when this page is a popup sign-in's answer
 * (it was handed over and the window closes), false otherwise (then call
 * `auth.handleRedirectCallback()`).
 */
export function completePopupLogin(options: { close?: boolean } = {}): boolean {
  if (typeof window === 'undefined') return false;
  const params = new URLSearchParams(window.location.search);
  const state = params.get('state');
  if (!state || !state.startsWith(POPUP_STATE_PREFIX)) return false;
  const payload: LoginResultPayload = {};
  for (const name of ['code', 'iss', 'error', 'error_description'] as const) {
    const value = params.get(name);
    if (value !== null) payload[name] = value;
  }
  const envelope = createEnvelope(LOGIN_RESULT, payload, state);
  const origin = window.location.origin;
  if (window.opener && window.opener !== window) {
    try {
      postEnvelope(window.opener as Window, envelope, origin);
    } catch {
      /* the opener navigated away: the channel below still reaches it if it is ours */
    }
  }
  if (typeof BroadcastChannel !== 'undefined') {
    const channel = new BroadcastChannel(`cas:popup:${state}`);
    channel.postMessage(envelope);
    channel.close();
  }
  window.history.replaceState(null, '', window.location.pathname);
  if (options.close !== false) setTimeout(() => window.close(), 0);
  return true;
}
