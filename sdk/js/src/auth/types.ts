import type { RetryPolicy } from '../internal/http';
import type { StorageMode } from '../internal/storage';
import type { IdTokenClaims } from '../internal/jwt';
import type { ServerMetadata } from '../api/types';

export interface AuthConfig {
  /** The app's client id (a public client registered with the IdP). */
  appId: string;
  /** The IdP's issuer URL; discovery is read from `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  /** Base URL of the JSON API (`/api/cross-app/...`); defaults to the issuer. */
  apiBaseUrl?: string;
  /** The app's callback page (a registered redirect URI on the app's origin). */
  redirectUrl: string;
  /** Space-separated or a list; default `openid profile email offline_access`. */
  scopes?: string | string[];
  /** Where the refresh token lives: `memory` (default), `session` or `local`. */
  storage?: StorageMode;
  /** A blocked popup: `redirect` (default) continues with a full-page redirect, `error` rejects with `popup_blocked`. */
  popupFallback?: 'redirect' | 'error';
  /** Default time a login popup may stay open (ms, default 5 minutes). */
  popupTimeoutMs?: number;
  /** Refresh this long before the access token expires (s, default 60). */
  refreshLeewaySeconds?: number;
  /** How long a refresh waits for another tab's refresh (ms, default 10 s). */
  lockTimeoutMs?: number;
  /** Use the localStorage lock even where Web Locks exist. */
  forceStorageLock?: boolean;
  /**
   * The languages of the hosted pages, preferred first (BCP 47 tags: `'fr'`, `['fr-CA', 'en']`),
   * sent as `ui_locales` on every sign-in; default: none (the user's choice or browser decides).
   */
  uiLocales?: string | string[];
  /** Where RP-initiated logout returns (a registered post-logout redirect URI). */
  postLogoutRedirectUrl?: string;
  /** Retry policy of API calls. */
  retry?: Partial<RetryPolicy>;
  /** A fetch implementation (tests, SSR); default the global one. */
  fetch?: typeof fetch;
  /**
   * An API call refused with `insufficient_user_authentication` (RFC 9470): `manual`
   * (default) rejects with `InsufficientUserAuthenticationError` for the app to call
   * `stepUp(error)` from a click handler; `redirect` also sends this tab to sign in
   * again with the challenge's `acr_values`/`max_age`, back to the current page.
   */
  stepUp?: 'manual' | 'redirect';
}

export interface User {
  sub: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  /** Every claim of the ID token the user signed in with. */
  claims: IdTokenClaims;
}

export interface LoginOptions {
  /** `popup` (default) or `redirect`. */
  mode?: 'popup' | 'redirect';
  /** A window the caller opened itself in the click handler (iOS). */
  popup?: Window | null;
  /** `signup` opens the sign-up page (`prompt=create`). */
  screen?: 'login' | 'signup';
  /** `purchase`: after consent the user lands on the credit purchase page first. */
  next?: 'purchase';
  prompt?: 'none' | 'login' | 'consent' | 'create';
  loginHint?: string;
  scopes?: string | string[];
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Redirect mode: a path of the app to return to, given back by handleRedirectCallback. */
  returnTo?: string;
  /** `acr_values` (OIDC Core 3.1.2.1): the authentication levels asked for, preferred first. */
  acrValues?: string | string[];
  /** `max_age` (OIDC Core 3.1.2.1): sign in again unless the last sign-in is this recent (s). */
  maxAge?: number;
  /** `ui_locales` (OIDC Core 3.1.2.1) for this sign-in, instead of the config's `uiLocales`. */
  uiLocales?: string | string[];
}

export interface LogoutOptions {
  /** Also end the IdP session (top-level redirect to its end-session endpoint). */
  endSession?: boolean;
}

export interface RedirectResult {
  user: User | null;
  returnTo: string | undefined;
}

export type { TokenResponse } from '../api/types';

/** The discovery fields the SDK reads (the server's metadata, from the OpenAPI document). */
export type Discovery = Pick<ServerMetadata, 'issuer' | 'authorization_endpoint' | 'token_endpoint' | 'jwks_uri'> &
  Partial<Pick<ServerMetadata, 'revocation_endpoint' | 'end_session_endpoint' | 'userinfo_endpoint'>>;
