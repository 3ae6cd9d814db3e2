/**
 * Sign-in for a partner web app: authorization code + PKCE (S256) with `state` and
 * `nonce`, in a popup by default (opened before any await) or by redirect; the ID token
 * verified against the JWKS; rotating refresh tokens refreshed one at a time across
 * tabs; sign-out reaching every tab.  Nothing touches `window` until a method is called.
 */
import { Emitter, type Listener, type SDKEvents } from '../communication/events';
import { randomId, waitForMessage } from '../communication/postMessage';
import { InsufficientUserAuthenticationError, SDKError, isSDKError } from '../errors';
import { form, requestJson, fetchWithRetry, type HttpOptions } from '../internal/http';
import { RemoteJWKS, verifyIdToken, type IdTokenClaims, type JWK } from '../internal/jwt';
import { withLock } from '../internal/lock';
import { challengeS256, createVerifier, randomString } from '../internal/pkce';
import { createStore, transactionStore, type KeyValueStore } from '../internal/storage';
import { LOGIN_RESULT, POPUP_STATE_PREFIX, REDIRECT_STATE_PREFIX, type LoginResultPayload } from './callback';
import { closePopup, isClosed, openPopup } from './popup';
import type {
  AuthConfig,
  Discovery,
  LoginOptions,
  LogoutOptions,
  RedirectResult,
  TokenResponse,
  User,
} from './types';

const DEFAULT_SCOPES = 'openid profile email offline_access';

interface Session {
  accessToken: string | null;
  /** Epoch ms. */
  expiresAt: number;
  scope: string;
  refreshToken: string | null;
  idToken: string | null;
  user: User;
}

/** What `storage` keeps: never the access token. */
interface StoredSession {
  refreshToken: string;
  idToken: string | null;
  user: User;
}

interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  returnTo?: string;
}

type TabMessage =
  | { kind: 'tokens'; sender: string; session: Session }
  | { kind: 'logout'; sender: string };

export function inBrowser(): boolean {
  return typeof window !== 'undefined' && typeof document !== 'undefined';
}

function scopeString(scopes: string | string[] | undefined): string {
  if (scopes === undefined) return DEFAULT_SCOPES;
  return (Array.isArray(scopes) ? scopes : scopes.split(/\s+/)).filter(Boolean).join(' ');
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export class CrossAppAuthSDK {
  readonly config: Readonly<Required<Pick<AuthConfig, 'appId' | 'issuer' | 'apiBaseUrl' | 'redirectUrl'>>> & AuthConfig;
  readonly events = new Emitter<SDKEvents>();
  private readonly tabId = randomId(8);
  private readonly storageKey: string;
  private session: Session | null = null;
  private store: KeyValueStore | null = null;
  private channel: BroadcastChannel | null = null;
  private started: Promise<void> | null = null;
  private refreshing: Promise<string> | null = null;
  private discovery: Promise<Discovery> | null = null;
  private jwks: RemoteJWKS | null = null;
  private disposed = false;

  constructor(config: AuthConfig) {
    if (!config || !config.appId || !config.issuer || !config.redirectUrl) {
      throw new SDKError('invalid_request', 'CrossAppAuthSDK needs appId, issuer and redirectUrl');
    }
    const issuer = trimSlash(config.issuer);
    this.config = { ...config, issuer, apiBaseUrl: trimSlash(config.apiBaseUrl ?? issuer) };
    this.storageKey = `cas:${config.appId}:session`;
  }

  // -- public API ---------------------------------------------------------------------

  /** True when a user is signed in (a refresh token or an unexpired access token). */
  async isAuthenticated(): Promise<boolean> {
    await this.start();
    return this.session !== null;
  }

  /** The signed-in user (from the verified ID token), or null. */
  async getCurrentUser(): Promise<User | null> {
    await this.start();
    return this.session?.user ?? null;
  }

  /** Subscribe to sign-in and sign-out (with the user, or null); returns the unsubscribe function. */
  onAuthChange(callback: (user: User | null) => void): () => void {
    const offLogin = this.events.on('login', ({ user }) => callback(user));
    const offLogout = this.events.on('logout', () => callback(null));
    return () => {
      offLogin();
      offLogout();
    };
  }

  /** Subscribe to one of the SDK's events (`login`, `logout`, `tokenRefreshed`, `creditsChanged`, `error`). */
  on<K extends keyof SDKEvents>(event: K, listener: Listener<SDKEvents[K]>): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Sign in.  Call it from the click handler: the popup is opened synchronously, before
   * anything is awaited.  Resolves with the user, or with null when the browser is
   * leaving for a redirect sign-in (`mode: 'redirect'`, or a blocked popup with the
   * default `popupFallback: 'redirect'`).  Rejects with `popup_blocked`, `popup_closed`,
   * `timeout`, `aborted` or the server's error (`access_denied`, ...).
   */
  login(options: LoginOptions = {}): Promise<User | null> {
    if (!inBrowser()) return Promise.reject(new SDKError('not_in_browser', 'login needs a browser window'));
    if (options.mode === 'redirect') return this.loginWithRedirect(options).then(() => null);
    const popup = options.popup ?? openPopup(`cas-login-${this.config.appId}`);
    if (!popup) {
      if (this.config.popupFallback === 'error') {
        return Promise.reject(new SDKError('popup_blocked', 'the browser blocked the sign-in popup'));
      }
      return this.loginWithRedirect(options).then(() => null);
    }
    return this.loginInPopup(popup, options);
  }

  /** Complete a redirect sign-in on the callback page; removes `code`/`state` from the URL. */
  async handleRedirectCallback(url: string = inBrowser() ? window.location.href : ''): Promise<RedirectResult> {
    const params = new URL(url).searchParams;
    const state = params.get('state');
    const txStore = transactionStore();
    const key = `cas:${this.config.appId}:tx`;
    const raw = await txStore.get(key);
    const tx: Transaction | null = raw ? JSON.parse(raw) : null;
    if (!state || !tx || tx.state !== state) {
      throw new SDKError('invalid_state', 'this sign-in answer does not belong to a request of this tab');
    }
    await txStore.remove(key);
    stripCallbackParams();
    const error = params.get('error');
    if (error === 'login_required' || error === 'consent_required' || error === 'interaction_required') {
      await this.start();
      return { user: this.session?.user ?? null, returnTo: tx.returnTo };
    }
    const user = await this.finishLogin(
      { code: params.get('code') ?? undefined, error: error ?? undefined, error_description: params.get('error_description') ?? undefined, iss: params.get('iss') ?? undefined },
      tx,
    );
    return { user, returnTo: tx.returnTo };
  }

  /**
   * Try a silent sign-in on app start: a top-level redirect with `prompt=none` (no
   * iframe, so no third-party cookies), answered at once by the IdP with a code or
   * `login_required`.  Resolves true when the browser is leaving; false when a signed-in
   * user is already known here, or this tab tried in the last minute (no redirect loop).
   */
  async signInSilently(options: Omit<LoginOptions, 'mode' | 'prompt'> = {}): Promise<boolean> {
    if (!inBrowser() || (await this.isAuthenticated())) return false;
    const marker = `cas:${this.config.appId}:silent`;
    const store = transactionStore();
    const last = Number(await store.get(marker));
    if (last && Date.now() - last < 60_000) return false;
    await store.set(marker, String(Date.now()));
    await this.loginWithRedirect({ ...options, prompt: 'none' });
    return true;
  }

  /** A valid access token: the one in memory, or a fresh one shortly before it expires. */
  async getAccessToken(): Promise<string> {
    await this.start();
    const session = this.session;
    if (!session) throw new SDKError('login_required', 'nobody is signed in');
    if (session.accessToken && !this.expiring(session)) return session.accessToken;
    if (!session.refreshToken) {
      await this.signOutLocally('expired', true);
      throw new SDKError('login_required', 'the session expired and holds no refresh token');
    }
    return this.refreshToken();
  }

  /**
   * Rotate the refresh token for a new access token.  Single-flight within the tab; one
   * refresh at a time across tabs (Web Locks, or a localStorage lock), storage re-read
   * under the lock so a tab never presents a token another tab already rotated.  A
   * refresh token the server refuses signs the user out (`login_required`).
   */
  refreshToken(): Promise<string> {
    this.refreshing ??= this.start()
      .then(() => this.refreshUnderLock())
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** Sign out in every tab: forget the tokens, revoke the refresh token, optionally end the IdP session. */
  async logout(options: LogoutOptions = {}): Promise<void> {
    await this.start();
    const refreshToken = this.session?.refreshToken ?? (await this.readStored())?.refreshToken ?? null;
    const idToken = this.session?.idToken ?? null;
    await this.signOutLocally('user', true);
    if (refreshToken) {
      await this.revoke(refreshToken).catch(() => undefined); // best effort: the tokens are gone here anyway
    }
    if (options.endSession && inBrowser()) {
      const discovery = await this.getDiscovery();
      if (discovery.end_session_endpoint) {
        const url = new URL(discovery.end_session_endpoint);
        url.searchParams.set('client_id', this.config.appId);
        if (idToken) url.searchParams.set('id_token_hint', idToken);
        if (this.config.postLogoutRedirectUrl) url.searchParams.set('post_logout_redirect_uri', this.config.postLogoutRedirectUrl);
        window.location.assign(url.toString());
      }
    }
  }

  /**
   * Step-up (RFC 9470): sign in again as the API's challenge asks, with its
   * `acr_values` and `max_age`, then repeat the refused call.  Like `login` (same
   * options, popup by default): call it from the click handler.
   */
  stepUp(error: InsufficientUserAuthenticationError, options: LoginOptions = {}): Promise<User | null> {
    return this.login({ ...options, ...stepUpParameters(error) });
  }

  /**
   * Authenticated JSON call to the API (`path` under `apiBaseUrl`); one retry after a 401
   * with a fresh token, except a step-up challenge (`InsufficientUserAuthenticationError`):
   * a refreshed token keeps its sign-in's level, only a new sign-in raises it.
   */
  async apiRequest<T>(path: string, init: RequestInit = {}, http: HttpOptions = {}): Promise<T> {
    const call = async (token: string) =>
      requestJson<T>(`${this.config.apiBaseUrl}${path}`, withBearer(init, token), this.httpOptions(http));
    const token = await this.getAccessToken();
    try {
      return await call(token);
    } catch (error) {
      if (error instanceof InsufficientUserAuthenticationError) throw await this.onStepUp(error);
      if (isSDKError(error) && error.status === 401 && this.session?.refreshToken) {
        return call(await this.refreshToken());
      }
      throw error;
    }
  }

  /** The `stepUp: 'redirect'` option: this tab leaves to sign in again (the error is still thrown). */
  private async onStepUp(error: InsufficientUserAuthenticationError): Promise<InsufficientUserAuthenticationError> {
    this.events.emit('error', { error });
    if (this.config.stepUp === 'redirect' && inBrowser()) {
      const here = window.location.pathname + window.location.search + window.location.hash;
      await this.loginWithRedirect({ ...stepUpParameters(error), returnTo: here });
    }
    return error;
  }

  /** Unauthenticated JSON call to the API. */
  publicRequest<T>(path: string, init: RequestInit = {}): Promise<T> {
    return requestJson<T>(`${this.config.apiBaseUrl}${path}`, { credentials: 'omit', ...init }, this.httpOptions());
  }

  /** Stop listening to other tabs and drop every listener. */
  dispose(): void {
    this.disposed = true;
    this.channel?.close();
    this.channel = null;
    this.events.clear();
  }

  // -- start-up and tabs --------------------------------------------------------------

  private start(): Promise<void> {
    this.started ??= this.restore();
    return this.started;
  }

  private async restore(): Promise<void> {
    if (!inBrowser()) {
      this.store = createStore('memory');
      return;
    }
    this.store = createStore(this.config.storage ?? 'memory');
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(`cas:${this.config.appId}:tabs`);
      this.channel.onmessage = (event) => this.onTabMessage(event.data as TabMessage);
    }
    const stored = await this.readStored();
    if (!stored) return;
    this.session = { accessToken: null, expiresAt: 0, scope: '', refreshToken: stored.refreshToken, idToken: stored.idToken, user: stored.user };
    try {
      await this.refreshUnderLock();
    } catch (error) {
      // Refused: signed out (already done).  Unreachable server: stay signed in, retry later.
      if (!isSDKError(error, 'login_required')) this.events.emit('error', { error: asSDKError(error) });
    }
  }

  private onTabMessage(message: TabMessage): void {
    if (this.disposed || !message || message.sender === this.tabId) return;
    if (message.kind === 'logout') {
      // The sender already emptied the shared storage (and may have signed in again since).
      if (this.session) void this.signOutLocally('other_tab', false, false);
      return;
    }
    if (message.kind === 'tokens' && this.store?.shared) {
      // Broadcasts may arrive late: never replace newer tokens with older ones.
      if (this.session && this.session.expiresAt > message.session.expiresAt) return;
      const wasSignedIn = this.session !== null;
      this.session = message.session;
      this.events.emit('tokenRefreshed', { expiresAt: message.session.expiresAt, fromOtherTab: true });
      if (!wasSignedIn) this.events.emit('login', { user: message.session.user });
    }
  }

  private broadcast(message: TabMessage): void {
    try {
      this.channel?.postMessage(message);
    } catch {
      /* closed */
    }
  }

  private async readStored(): Promise<StoredSession | null> {
    const raw = await this.store?.get(this.storageKey);
    if (!raw) return null;
    try {
      const parsed = JSON.parse(raw) as StoredSession;
      return typeof parsed.refreshToken === 'string' && parsed.user?.sub ? parsed : null;
    } catch {
      return null;
    }
  }

  private async signOutLocally(reason: SDKEvents['logout']['reason'], tellTabs: boolean, forget = true): Promise<void> {
    const was = this.session;
    this.session = null;
    if (forget) await this.store?.remove(this.storageKey);
    if (tellTabs) this.broadcast({ kind: 'logout', sender: this.tabId });
    if (was) this.events.emit('logout', { reason });
  }

  /** Keep the new tokens; stored (committed) before any other tab may take the lock. */
  private async setSession(session: Session, fromLogin: boolean): Promise<void> {
    const wasSignedIn = this.session !== null;
    this.session = session;
    if (session.refreshToken) {
      const stored: StoredSession = { refreshToken: session.refreshToken, idToken: session.idToken, user: session.user };
      await this.store?.set(this.storageKey, JSON.stringify(stored));
    }
    if (this.store?.shared) this.broadcast({ kind: 'tokens', sender: this.tabId, session });
    if (fromLogin || !wasSignedIn) this.events.emit('login', { user: session.user });
    else this.events.emit('tokenRefreshed', { expiresAt: session.expiresAt, fromOtherTab: false });
  }

  private expiring(session: Session): boolean {
    return session.expiresAt - (this.config.refreshLeewaySeconds ?? 60) * 1000 <= Date.now();
  }

  // -- refresh ------------------------------------------------------------------------

  private async refreshUnderLock(): Promise<string> {
    const seen = this.session?.refreshToken ?? null;
    if (this.store?.shared !== true) {
      // This tab's own family: the in-tab single flight is all the coordination needed.
      if (!seen) throw new SDKError('login_required', 'nobody is signed in');
      return this.redeemRefreshToken(seen);
    }
    return withLock(
      `cas:${this.config.appId}:refresh`,
      async () => {
        const shared = this.store?.shared === true;
        const current = shared ? ((await this.readStored())?.refreshToken ?? null) : (this.session?.refreshToken ?? null);
        if (!current) {
          await this.signOutLocally('refresh_refused', false, false);
          throw new SDKError('login_required', 'signed out (in another tab, or the session ended)');
        }
        // Another tab rotated while this one waited, and its tokens already arrived here.
        if (shared && current !== seen && this.session?.accessToken && this.session.refreshToken === current && !this.expiring(this.session)) {
          return this.session.accessToken;
        }
        return this.redeemRefreshToken(current);
      },
      { timeoutMs: this.config.lockTimeoutMs ?? 10_000, forceFallback: this.config.forceStorageLock ?? false },
    );
  }

  private async redeemRefreshToken(refreshToken: string): Promise<string> {
    const discovery = await this.getDiscovery();
    let tokens: TokenResponse;
    try {
      tokens = await requestJson<TokenResponse>(
        discovery.token_endpoint,
        form({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: this.config.appId }),
        // A refresh must not be repeated after a lost answer: the server would see reuse.
        this.httpOptions({ retry: { retryUnsafe: false } }),
      );
    } catch (error) {
      if (isSDKError(error) && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 429) {
        await this.signOutLocally('refresh_refused', true);
        throw new SDKError('login_required', 'the session ended: sign in again', { cause: error, status: error.status });
      }
      throw error;
    }
    const previous = this.session;
    const user = tokens.id_token ? await this.userFromIdToken(tokens.id_token, undefined) : previous?.user;
    if (!user) throw new SDKError('invalid_response', 'the refresh answer names no user');
    await this.setSession(
      {
        accessToken: tokens.access_token,
        expiresAt: Date.now() + (tokens.expires_in ?? 300) * 1000,
        scope: tokens.scope ?? previous?.scope ?? '',
        refreshToken: tokens.refresh_token ?? null,
        idToken: tokens.id_token ?? previous?.idToken ?? null,
        user,
      },
      false,
    );
    return tokens.access_token;
  }

  private revoke(token: string): Promise<Response> {
    return this.getDiscovery().then((discovery) => {
      if (!discovery.revocation_endpoint) return new Response(null, { status: 204 });
      return fetchWithRetry(
        discovery.revocation_endpoint,
        form({ token, token_type_hint: 'refresh_token', client_id: this.config.appId }),
        this.httpOptions({ retry: { retries: 1 } }),
      );
    });
  }

  // -- sign-in ------------------------------------------------------------------------

  private async loginInPopup(popup: Window, options: LoginOptions): Promise<User> {
    try {
      const tx = await this.newTransaction(POPUP_STATE_PREFIX, options);
      popup.location.href = await this.authorizeUrl(tx, options);
      const redirectOrigin = new URL(tx.redirectUri).origin;
      const envelope = await waitForMessage({
        window,
        origins: [redirectOrigin],
        source: () => popup,
        types: [LOGIN_RESULT],
        state: tx.state,
        channel: `cas:popup:${tx.state}`,
        timeoutMs: options.timeoutMs ?? this.config.popupTimeoutMs ?? 300_000,
        ...(options.signal ? { signal: options.signal } : {}),
        closed: () => isClosed(popup),
      });
      closePopup(popup);
      return await this.finishLogin(envelope.payload as LoginResultPayload, tx);
    } catch (error) {
      closePopup(popup);
      const failure = asSDKError(error);
      this.events.emit('error', { error: failure });
      throw failure;
    }
  }

  private async loginWithRedirect(options: LoginOptions): Promise<void> {
    const tx = await this.newTransaction(REDIRECT_STATE_PREFIX, options);
    await transactionStore().set(`cas:${this.config.appId}:tx`, JSON.stringify(tx));
    window.location.assign(await this.authorizeUrl(tx, options));
  }

  private async newTransaction(prefix: string, options: LoginOptions): Promise<Transaction> {
    const tx: Transaction = {
      state: prefix + randomString(24),
      nonce: randomString(24),
      verifier: createVerifier(),
      redirectUri: this.config.redirectUrl,
    };
    if (options.returnTo !== undefined) tx.returnTo = options.returnTo;
    return tx;
  }

  private async authorizeUrl(tx: Transaction, options: LoginOptions): Promise<string> {
    const discovery = await this.getDiscovery();
    const url = new URL(discovery.authorization_endpoint);
    const prompt = options.prompt ?? (options.screen === 'signup' ? 'create' : undefined);
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: this.config.appId,
      redirect_uri: tx.redirectUri,
      scope: scopeString(options.scopes ?? this.config.scopes),
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: await challengeS256(tx.verifier),
      code_challenge_method: 'S256',
      prompt,
      login_hint: options.loginHint,
      next: options.next,
      acr_values: options.acrValues === undefined ? undefined : scopeString(options.acrValues),
      max_age: options.maxAge === undefined ? undefined : String(options.maxAge),
      ui_locales: scopeString(options.uiLocales ?? this.config.uiLocales ?? []) || undefined,
    };
    for (const [key, value] of Object.entries(params)) if (value) url.searchParams.set(key, value);
    return url.toString();
  }

  private async finishLogin(result: LoginResultPayload, tx: Transaction): Promise<User> {
    if (result.error) {
      throw new SDKError(result.error, result.error_description ?? result.error, { description: result.error_description ?? result.error });
    }
    // RFC 9207: the answer must come from our issuer.
    if (result.iss !== undefined && result.iss !== this.config.issuer) {
      throw new SDKError('invalid_response', 'the sign-in answer names another issuer (iss)');
    }
    if (!result.code) throw new SDKError('invalid_response', 'the sign-in answer carries no code');
    const discovery = await this.getDiscovery();
    await this.start();
    const tokens = await requestJson<TokenResponse>(
      discovery.token_endpoint,
      form({
        grant_type: 'authorization_code',
        code: result.code,
        redirect_uri: tx.redirectUri,
        client_id: this.config.appId,
        code_verifier: tx.verifier,
      }),
      this.httpOptions({ retry: { retryUnsafe: false } }),
    );
    if (!tokens.id_token) throw new SDKError('invalid_response', 'the token answer carries no ID token (is `openid` among the scopes?)');
    const user = await this.userFromIdToken(tokens.id_token, tx.nonce);
    await this.setSession(
      {
        accessToken: tokens.access_token,
        expiresAt: Date.now() + (tokens.expires_in ?? 300) * 1000,
        scope: tokens.scope ?? '',
        refreshToken: tokens.refresh_token ?? null,
        idToken: tokens.id_token,
        user,
      },
      true,
    );
    return user;
  }

  private async userFromIdToken(idToken: string, nonce: string | undefined): Promise<User> {
    const discovery = await this.getDiscovery();
    this.jwks ??= new RemoteJWKS(discovery.jwks_uri, () =>
      requestJson<{ keys: JWK[] }>(discovery.jwks_uri, { credentials: 'omit' }, this.httpOptions()),
    );
    const claims = await verifyIdToken(idToken, this.jwks, { issuer: this.config.issuer, clientId: this.config.appId, nonce });
    return toUser(claims);
  }

  private getDiscovery(): Promise<Discovery> {
    this.discovery ??= requestJson<Discovery>(
      `${this.config.issuer}/.well-known/openid-configuration`,
      { credentials: 'omit' },
      this.httpOptions(),
    ).then(
      (found) => {
        if (trimSlash(found.issuer) !== this.config.issuer) {
          throw new SDKError('invalid_response', `discovery names issuer ${found.issuer}, not ${this.config.issuer}`);
        }
        return found;
      },
      (error) => {
        this.discovery = null; // try again next time
        throw error;
      },
    );
    return this.discovery;
  }

  private httpOptions(extra: HttpOptions = {}): HttpOptions {
    const options: HttpOptions = { ...extra, retry: { ...this.config.retry, ...extra.retry } };
    if (this.config.fetch) options.fetch = this.config.fetch;
    return options;
  }
}

/** The sign-in parameters that answer a step-up challenge. */
function stepUpParameters(error: InsufficientUserAuthenticationError): Pick<LoginOptions, 'acrValues' | 'maxAge'> {
  const wanted: Pick<LoginOptions, 'acrValues' | 'maxAge'> = {};
  if (error.acrValues.length) wanted.acrValues = error.acrValues;
  if (error.maxAge !== undefined) wanted.maxAge = error.maxAge;
  return wanted;
}

function toUser(claims: IdTokenClaims): User {
  const user: User = { sub: claims.sub, claims };
  if (typeof claims.email === 'string') user.email = claims.email;
  if (typeof claims.email_verified === 'boolean') user.emailVerified = claims.email_verified;
  if (typeof claims.name === 'string') user.name = claims.name;
  return user;
}

function withBearer(init: RequestInit, token: string): RequestInit {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  headers.set('Accept', 'application/json');
  return { credentials: 'omit', ...init, headers };
}

export function asSDKError(error: unknown): SDKError {
  return error instanceof SDKError ? error : new SDKError('invalid_response', String((error as Error)?.message ?? error), { cause: error });
}

/** Remove the OAuth answer from the address bar, so a reload does not replay it. */
export function stripCallbackParams(): void {
  if (!inBrowser()) return;
  const url = new URL(window.location.href);
  let changed = false;
  for (const name of ['code', 'state', 'iss', 'error', 'error_description', 'session_state']) {
    if (url.searchParams.has(name)) {
      url.searchParams.delete(name);
      changed = true;
    }
  }
  if (changed) window.history.replaceState(window.history.state, '', url.toString());
}
