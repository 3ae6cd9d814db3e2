import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CrossAppAuthSDK } from '../../src/auth/CrossAppAuthSDK';
import { completePopupLogin } from '../../src/auth/callback';
import { createEnvelope } from '../../src/communication/postMessage';
import type { AuthConfig } from '../../src/auth/types';
import { CLIENT_ID, FakeIdp, ISSUER, rsaKey, type Key } from './fake-idp';

let key: Key;
let idp: FakeIdp;
const made: CrossAppAuthSDK[] = [];
const KEY = `cas:${CLIENT_ID}:session`;

beforeAll(async () => {
  key = await rsaKey();
});

beforeEach(() => {
  idp = new FakeIdp(key);
  localStorage.clear();
  sessionStorage.clear();
});

afterEach(() => {
  for (const sdk of made.splice(0)) sdk.dispose();
  vi.restoreAllMocks();
  window.history.replaceState(null, '', '/');
});

function sdk(extra: Partial<AuthConfig> = {}): CrossAppAuthSDK {
  const made_ = new CrossAppAuthSDK({
    appId: CLIENT_ID,
    issuer: ISSUER,
    redirectUrl: `${window.location.origin}/callback`,
    fetch: idp.fetch as typeof fetch,
    retry: { retries: 0 },
    ...extra,
  });
  made.push(made_);
  return made_;
}

function storeSession(area: Storage, refreshToken: string): void {
  area.setItem(KEY, JSON.stringify({ refreshToken, idToken: null, user: { sub: 'user-1', claims: { sub: 'user-1' } } }));
}

const tokenCalls = () => idp.calls.filter((c) => c.path === '/oauth/token');
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** A popup stand-in: records where the SDK sends it. */
function fakePopup() {
  const popup = { closed: false, href: '', close: vi.fn(() => void (popup.closed = true)), location: {} as { href: string } };
  Object.defineProperty(popup.location, 'href', { set: (v: string) => void (popup.href = v), get: () => popup.href });
  return popup;
}

function answer(popup: object, data: unknown, origin = window.location.origin) {
  const event = new Event('message');
  Object.defineProperties(event, { data: { value: data }, origin: { value: origin }, source: { value: popup } });
  window.dispatchEvent(event);
}

async function untilNavigated(popup: { href: string }): Promise<URL> {
  for (let i = 0; i < 100 && !popup.href; i++) await tick(5);
  return new URL(popup.href);
}

describe('popup sign-in', () => {
  it('opens the popup synchronously, before anything is awaited', async () => {
    const popup = fakePopup();
    const open = vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const auth = sdk();
    const pending = auth.login();
    expect(open).toHaveBeenCalledTimes(1); // no await ran yet
    expect(open.mock.calls[0]![0]).toBe('');
    const url = await untilNavigated(popup);
    expect(url.origin + url.pathname).toBe(`${ISSUER}/oauth/authorize`);
    const q = url.searchParams;
    expect(Object.fromEntries(q)).toMatchObject({ response_type: 'code', client_id: CLIENT_ID, code_challenge_method: 'S256', scope: 'openid profile email offline_access' });
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^p\./);
    idp.nextNonce = q.get('nonce')!;
    answer(popup, createEnvelope('cas:login:result', { code: 'c1', iss: ISSUER }, q.get('state')!));
    const user = await pending;
    expect(user).toMatchObject({ sub: 'user-1', email: 'ada@example.com' });
    expect(popup.close).toHaveBeenCalled();
    expect(await auth.isAuthenticated()).toBe(true);
    expect(await auth.getAccessToken()).toMatch(/^at-/);
    const exchange = tokenCalls()[0]!.body as URLSearchParams;
    expect(exchange.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(exchange.get('redirect_uri')).toBe(`${window.location.origin}/callback`);
  });

  it('sign-up with the purchase detour asks for prompt=create and next=purchase', async () => {
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const pending = sdk().login({ screen: 'signup', next: 'purchase', timeoutMs: 50 });
    const q = (await untilNavigated(popup)).searchParams;
    expect([q.get('prompt'), q.get('next')]).toEqual(['create', 'purchase']);
    await expect(pending).rejects.toMatchObject({ code: 'timeout' });
    expect(popup.close).toHaveBeenCalled();
  });

  it('uses a window the caller opened', async () => {
    const popup = fakePopup();
    const open = vi.spyOn(window, 'open');
    const pending = sdk().login({ popup: popup as unknown as Window, timeoutMs: 30 });
    expect((await untilNavigated(popup)).pathname).toBe('/oauth/authorize');
    expect(open).not.toHaveBeenCalled();
    await expect(pending).rejects.toMatchObject({ code: 'timeout' });
  });

  it('a blocked popup rejects with popup_blocked when redirects are off', async () => {
    vi.spyOn(window, 'open').mockImplementation(() => null);
    await expect(sdk({ popupFallback: 'error' }).login()).rejects.toMatchObject({ code: 'popup_blocked' });
  });

  it('a closed popup rejects with popup_closed', async () => {
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const pending = sdk().login();
    await untilNavigated(popup);
    popup.closed = true;
    await expect(pending).rejects.toMatchObject({ code: 'popup_closed' });
  });

  it('the abort signal closes the popup and rejects with aborted', async () => {
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const controller = new AbortController();
    const pending = sdk().login({ signal: controller.signal });
    await untilNavigated(popup);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
    expect(popup.close).toHaveBeenCalled();
  });

  it('an error answer (access_denied) rejects with its code; another issuer is refused', async () => {
    for (const [payload, code] of [
      [{ error: 'access_denied', error_description: 'no' }, 'access_denied'],
      [{ code: 'c', iss: 'https://evil.test' }, 'invalid_response'],
    ] as const) {
      const popup = fakePopup();
      vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
      const pending = sdk().login();
      const state = (await untilNavigated(popup)).searchParams.get('state')!;
      answer(popup, createEnvelope('cas:login:result', payload, state));
      await expect(pending).rejects.toMatchObject({ code });
    }
    expect(tokenCalls()).toHaveLength(0);
  });

  it('ignores an answer from a foreign origin or another window', async () => {
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const pending = sdk().login({ timeoutMs: 200 });
    const state = (await untilNavigated(popup)).searchParams.get('state')!;
    answer(popup, createEnvelope('cas:login:result', { code: 'evil' }, state), 'https://evil.example');
    answer(fakePopup(), createEnvelope('cas:login:result', { code: 'evil' }, state));
    await expect(pending).rejects.toMatchObject({ code: 'timeout' });
    expect(tokenCalls()).toHaveLength(0);
  });
});

describe('the callback page', () => {
  it('hands a popup answer to the opener with its own origin as target, then cleans the URL and closes', async () => {
    const opener = { postMessage: vi.fn() };
    Object.defineProperty(window, 'opener', { value: opener, configurable: true, writable: true });
    const close = vi.spyOn(window, 'close').mockImplementation(() => {});
    window.history.replaceState(null, '', `/callback?code=c9&state=p.s9&iss=${encodeURIComponent(ISSUER)}`);
    expect(completePopupLogin()).toBe(true);
    await tick(5);
    expect(close).toHaveBeenCalled();
    const [envelope, target] = opener.postMessage.mock.calls[0]!;
    expect(target).toBe(window.location.origin);
    expect(envelope).toMatchObject({ v: 1, type: 'cas:login:result', state: 'p.s9', payload: { code: 'c9', iss: ISSUER } });
    expect(window.location.search).toBe('');
    Object.defineProperty(window, 'opener', { value: null, configurable: true, writable: true });
  });

  it('leaves a redirect answer to handleRedirectCallback', () => {
    window.history.replaceState(null, '', '/callback?code=c&state=r.abc');
    expect(completePopupLogin()).toBe(false);
    expect(window.location.search).toBe('?code=c&state=r.abc');
  });

  it('handleRedirectCallback refuses an answer this tab did not ask for (and a replay)', async () => {
    window.history.replaceState(null, '', '/callback?code=c&state=r.unknown');
    await expect(sdk().handleRedirectCallback()).rejects.toMatchObject({ code: 'invalid_state' });
  });

  it('handleRedirectCallback completes a redirect sign-in and removes code and state from the URL', async () => {
    const auth = sdk();
    sessionStorage.setItem(`cas:${CLIENT_ID}:tx`, JSON.stringify({ state: 'r.s1', nonce: 'n1', verifier: 'v'.repeat(43), redirectUri: `${window.location.origin}/callback`, returnTo: '/after' }));
    idp.nextNonce = 'n1';
    window.history.replaceState(null, '', `/callback?code=c1&state=r.s1&iss=${encodeURIComponent(ISSUER)}&keep=1`);
    const result = await auth.handleRedirectCallback();
    expect(result).toMatchObject({ user: { sub: 'user-1' }, returnTo: '/after' });
    expect(window.location.search).toBe('?keep=1');
    await expect(auth.handleRedirectCallback()).rejects.toMatchObject({ code: 'invalid_state' });
  });

  it('a silent sign-in answered login_required means signed out, not an error', async () => {
    sessionStorage.setItem(`cas:${CLIENT_ID}:tx`, JSON.stringify({ state: 'r.s2', nonce: 'n', verifier: 'v', redirectUri: 'x' }));
    window.history.replaceState(null, '', '/callback?error=login_required&state=r.s2');
    expect(await sdk().handleRedirectCallback()).toEqual({ user: null, returnTo: undefined });
  });
});

describe('tokens and refresh', () => {
  it('a stored refresh token the server refuses means signed out, never an exception', async () => {
    storeSession(localStorage, 'rt-revoked');
    const auth = sdk({ storage: 'local' });
    expect(await auth.isAuthenticated()).toBe(false);
    expect(await auth.getCurrentUser()).toBeNull();
    expect(localStorage.getItem(KEY)).toBeNull();
    await expect(auth.getAccessToken()).rejects.toMatchObject({ code: 'login_required' });
  });

  it('refresh is single-flight within a tab', async () => {
    storeSession(sessionStorage, idp.issueRefreshToken());
    const auth = sdk({ storage: 'session' });
    expect(await auth.isAuthenticated()).toBe(true);
    idp.tokenDelayMs = 20;
    const [a, b] = await Promise.all([auth.refreshToken(), auth.refreshToken()]);
    expect(a).toBe(b);
    expect(await auth.getAccessToken()).toBe(a);
    expect(tokenCalls()).toHaveLength(2); // start-up, then one for both callers
    expect(idp.reuse).toBe(0);
  });

  it('refreshes shortly before the access token expires', async () => {
    storeSession(sessionStorage, idp.issueRefreshToken());
    const auth = sdk({ storage: 'session', refreshLeewaySeconds: 601 });
    const first = await auth.getAccessToken();
    const second = await auth.getAccessToken();
    expect(second).not.toBe(first);
    const relaxed = sdk({ storage: 'session' });
    const token = await relaxed.getAccessToken();
    expect(await relaxed.getAccessToken()).toBe(token);
  });

  it.each([
    ['the localStorage lock', { forceStorageLock: true }],
    ['Web Locks', {}],
  ])('two tabs refreshing at once take turns through %s: no reuse, one live token', async (_, extra) => {
    if (!('forceStorageLock' in extra)) installWebLocks();
    storeSession(localStorage, idp.issueRefreshToken());
    idp.tokenDelayMs = 15;
    const tabA = sdk({ storage: 'local', ...extra });
    const tabB = sdk({ storage: 'local', ...extra });
    expect(await Promise.all([tabA.isAuthenticated(), tabB.isAuthenticated()])).toEqual([true, true]);
    await Promise.all([tabA.refreshToken(), tabB.refreshToken(), tabA.refreshToken(), tabB.refreshToken()]);
    await tick();
    expect(idp.reuse).toBe(0);
    expect(idp.live.size).toBe(1);
    const stored = JSON.parse(localStorage.getItem(KEY)!);
    expect(idp.live.has(stored.refreshToken)).toBe(true);
    expect(stored).not.toHaveProperty('accessToken');
    expect(await tabA.getAccessToken()).toMatch(/^at-/);
    expect(await tabB.getAccessToken()).toMatch(/^at-/);
    delete (navigator as { locks?: unknown }).locks;
  });

  it('sign-out in one tab signs out the other and revokes the refresh token', async () => {
    storeSession(localStorage, idp.issueRefreshToken());
    const tabA = sdk({ storage: 'local' });
    const tabB = sdk({ storage: 'local' });
    await Promise.all([tabA.isAuthenticated(), tabB.isAuthenticated()]);
    const seen: Array<string | null> = [];
    tabB.onAuthChange((user) => seen.push(user?.sub ?? null));
    await tabA.logout();
    await tick(50);
    expect(await tabB.isAuthenticated()).toBe(false);
    expect(seen).toEqual([null]);
    expect(localStorage.getItem(KEY)).toBeNull();
    const revoke = idp.calls.find((c) => c.path === '/oauth/revoke')!;
    expect((revoke.body as URLSearchParams).get('token_type_hint')).toBe('refresh_token');
  });
});

describe('storage modes', () => {
  async function signedIn(storage: 'memory' | 'session' | 'local') {
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const auth = sdk({ storage });
    const pending = auth.login();
    const q = (await untilNavigated(popup)).searchParams;
    idp.nextNonce = q.get('nonce')!;
    answer(popup, createEnvelope('cas:login:result', { code: 'c' }, q.get('state')!));
    await pending;
    return auth;
  }

  it('memory keeps nothing in web storage', async () => {
    await signedIn('memory');
    expect([localStorage.length, sessionStorage.length]).toEqual([0, 0]);
  });

  it.each([
    ['session', () => sessionStorage, () => localStorage],
    ['local', () => localStorage, () => sessionStorage],
  ] as const)('%s keeps the refresh token there, never the access token', async (mode, used, unused) => {
    const auth = await signedIn(mode);
    const raw = used().getItem(KEY)!;
    expect(JSON.parse(raw).refreshToken).toMatch(/^rt-/);
    expect(raw).not.toContain(await auth.getAccessToken());
    expect(unused().getItem(KEY)).toBeNull();
  });
});

/** A minimal Web Locks manager (jsdom has none): exclusive, FIFO, abortable. */
function installWebLocks() {
  const queues = new Map<string, Promise<unknown>>();
  const locks = {
    request(name: string, options: { signal?: AbortSignal }, fn: () => Promise<unknown>) {
      const previous = queues.get(name) ?? Promise.resolve();
      const run = previous.catch(() => {}).then(() => {
        if (options.signal?.aborted) throw new DOMException('aborted', 'AbortError');
        return fn();
      });
      queues.set(name, run.catch(() => {}));
      return run;
    },
  };
  Object.defineProperty(navigator, 'locks', { value: locks, configurable: true });
}

describe('tokens from other tabs', () => {
  it('a late broadcast of older tokens never replaces newer ones', async () => {
    storeSession(localStorage, idp.issueRefreshToken());
    const auth = sdk({ storage: 'local' });
    const current = await auth.getAccessToken();
    const channel = new BroadcastChannel(`cas:${CLIENT_ID}:tabs`);
    const session = (accessToken: string, expiresAt: number) => ({
      kind: 'tokens', sender: 'other-tab',
      session: { accessToken, expiresAt, scope: '', refreshToken: 'rt-x', idToken: null, user: { sub: 'user-1', claims: {} } },
    });
    channel.postMessage(session('at-stale', Date.now() + 1000));
    await tick(30);
    expect(await auth.getAccessToken()).toBe(current);
    channel.postMessage(session('at-newer', Date.now() + 3_600_000));
    await tick(30);
    expect(await auth.getAccessToken()).toBe('at-newer');
    channel.close();
  });

  it('memory mode takes no cross-tab lock and shares nothing', async () => {
    storeSession(sessionStorage, idp.issueRefreshToken());
    installWebLocks();
    const request = vi.spyOn(navigator.locks, 'request');
    const auth = sdk({ storage: 'session' });
    await auth.refreshToken();
    expect(request).not.toHaveBeenCalled();
    delete (navigator as { locks?: unknown }).locks;
  });
});

describe('silent sign-in', () => {
  it('does not redirect when this tab tried within the last minute, nor when signed in', async () => {
    sessionStorage.setItem(`cas:${CLIENT_ID}:silent`, String(Date.now() - 5_000));
    expect(await sdk().signInSilently()).toBe(false);
    expect(idp.paths()).not.toContain('GET /.well-known/openid-configuration');
    sessionStorage.clear();
    storeSession(sessionStorage, idp.issueRefreshToken());
    expect(await sdk({ storage: 'session' }).signInSilently()).toBe(false);
    expect(sessionStorage.getItem(`cas:${CLIENT_ID}:silent`)).toBeNull();
  });
});
