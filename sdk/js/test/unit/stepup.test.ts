import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CrossAppAuthSDK } from '../../src/auth/CrossAppAuthSDK';
import type { AuthConfig } from '../../src/auth/types';
import { CreditSDK } from '../../src/credits/CreditSDK';
import { InsufficientUserAuthenticationError, SDKError, fromServer, parseChallenge } from '../../src/errors';
import { PaymentSDK } from '../../src/payments/PaymentSDK';
import { CLIENT_ID, FakeIdp, ISSUER, json, rsaKey, type Key } from './fake-idp';

// RFC 9470 section 3: the challenge of an API that wants a stronger or a fresher sign-in.
const ACR_2FA = 'urn:idp:acr:2fa';
const CHALLENGE = `Bearer error="insufficient_user_authentication", error_description="A stronger sign-in is required", acr_values="${ACR_2FA}", max_age=300`;
const API = '/api/cross-app';

let key: Key;
let idp: FakeIdp;
const made: CrossAppAuthSDK[] = [];

beforeAll(async () => {
  key = await rsaKey();
});

beforeEach(() => {
  idp = new FakeIdp(key);
  sessionStorage.clear();
  sessionStorage.setItem(`cas:${CLIENT_ID}:session`, JSON.stringify({ refreshToken: idp.issueRefreshToken(), idToken: null, user: { sub: 'user-1', claims: {} } }));
});

afterEach(() => {
  for (const sdk of made.splice(0)) sdk.dispose();
  vi.restoreAllMocks();
});

function sdk(extra: Partial<AuthConfig> = {}): CrossAppAuthSDK {
  const auth = new CrossAppAuthSDK({
    appId: CLIENT_ID,
    issuer: ISSUER,
    redirectUrl: `${window.location.origin}/callback`,
    storage: 'session',
    fetch: idp.fetch as typeof fetch,
    retry: { retries: 0 },
    ...extra,
  });
  made.push(auth);
  return auth;
}

function refuse(route: string, header = CHALLENGE, body: unknown = { error: 'insufficient_user_authentication', error_description: 'A stronger sign-in is required' }) {
  idp.routes.set(route, () => json(body, 401, { 'WWW-Authenticate': header }));
}

const tokenCalls = () => idp.calls.filter((c) => c.path === '/oauth/token');

function fakePopup() {
  const popup = { closed: false, href: '', close: vi.fn(() => void (popup.closed = true)), location: {} as { href: string } };
  Object.defineProperty(popup.location, 'href', { set: (v: string) => void (popup.href = v), get: () => popup.href });
  return popup;
}

async function untilNavigated(popup: { href: string }): Promise<URL> {
  for (let i = 0; i < 100 && !popup.href; i++) await new Promise((r) => setTimeout(r, 5));
  return new URL(popup.href);
}

describe('the RFC 9470 challenge', () => {
  it('becomes an InsufficientUserAuthenticationError with acrValues and maxAge', () => {
    const error = fromServer(401, null, CHALLENGE);
    expect(error).toBeInstanceOf(InsufficientUserAuthenticationError);
    expect(error).toBeInstanceOf(SDKError);
    expect(error).toMatchObject({ code: 'insufficient_user_authentication', status: 401, acrValues: [ACR_2FA], maxAge: 300, description: 'A stronger sign-in is required' });
  });

  it.each([
    ['max_age quoted', 'Bearer error="insufficient_user_authentication", max_age="0"', [], 0],
    ['several acr values', 'Bearer error="insufficient_user_authentication", acr_values="a b"', ['a', 'b'], undefined],
    ['a max_age that is not a number', 'Bearer error="insufficient_user_authentication", max_age="soon"', [], undefined],
    ['a negative max_age', 'Bearer error="insufficient_user_authentication", max_age=-5', [], undefined],
  ])('reads %s', (_, header, acrValues, maxAge) => {
    const error = fromServer(401, null, header) as InsufficientUserAuthenticationError;
    expect([error.acrValues, error.maxAge]).toEqual([acrValues, maxAge]);
  });

  it('takes the parameters from the body when the header lacks them', () => {
    const body = { error: 'insufficient_user_authentication', error_description: 'Sign in again', acr_values: ACR_2FA, max_age: 60 };
    const error = fromServer(401, body, 'Bearer realm="api"') as InsufficientUserAuthenticationError;
    expect([error.acrValues, error.maxAge, error.description]).toEqual([[ACR_2FA], 60, 'Sign in again']);
  });

  it('parses token and quoted values alike, escapes included', () => {
    expect(parseChallenge('Bearer error="x", max_age=10, realm="a \\"b\\""')).toEqual({ error: 'x', max_age: '10', realm: 'a "b"' });
    expect(parseChallenge('Basic realm="x"')).toEqual({});
  });
});

describe('API calls refused for the sign-in level', () => {
  it('reject with the typed error and are not retried with a refreshed token', async () => {
    refuse(`POST ${API}/credits/consume`);
    const auth = sdk();
    const errors: unknown[] = [];
    auth.on('error', ({ error }) => errors.push(error));
    const failure = new CreditSDK(auth).consumeCredits(500, 'big-purchase');
    await expect(failure).rejects.toBeInstanceOf(InsufficientUserAuthenticationError);
    await expect(failure).rejects.toMatchObject({ acrValues: [ACR_2FA], maxAge: 300 });
    // One refresh at start-up (the stored session), none after the 401: it would not help.
    expect(tokenCalls()).toHaveLength(1);
    expect(idp.calls.filter((c) => c.path === `${API}/credits/consume`)).toHaveLength(1);
    expect(errors).toHaveLength(1);
  });

  it('an ordinary 401 is still retried once with a fresh token', async () => {
    let calls = 0;
    idp.routes.set(`GET ${API}/credits`, () => (++calls === 1 ? json({ error: 'invalid_token' }, 401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }) : json({ balance: 1, held: 0, available: 1 })));
    expect(await new CreditSDK(sdk()).getCreditBalance()).toEqual({ balance: 1, held: 0, available: 1 });
    expect(tokenCalls()).toHaveLength(2);
  });

  it('the payment calls carry it too', async () => {
    refuse(`GET ${API}/subscription`);
    await expect(new PaymentSDK(sdk()).getSubscription()).rejects.toMatchObject({ code: 'insufficient_user_authentication', acrValues: [ACR_2FA] });
  });
});

describe('stepUp', () => {
  it('signs in again in a popup opened at once, with acr_values and max_age', async () => {
    refuse(`GET ${API}/credits`);
    const auth = sdk();
    const error = (await new CreditSDK(auth).getCreditBalance().catch((e: unknown) => e)) as InsufficientUserAuthenticationError;
    const popup = fakePopup();
    const open = vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const pending = auth.stepUp(error, { timeoutMs: 50 });
    expect(open).toHaveBeenCalledTimes(1); // synchronously: a click handler's popup
    const query = (await untilNavigated(popup)).searchParams;
    expect([query.get('acr_values'), query.get('max_age')]).toEqual([ACR_2FA, '300']);
    expect(query.get('response_type')).toBe('code');
    await expect(pending).rejects.toMatchObject({ code: 'timeout' });
  });

  it('passes only what the challenge names', async () => {
    const auth = sdk();
    const error = fromServer(401, null, 'Bearer error="insufficient_user_authentication", max_age=0') as InsufficientUserAuthenticationError;
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const pending = auth.stepUp(error, { timeoutMs: 50 });
    const query = (await untilNavigated(popup)).searchParams;
    expect([query.has('acr_values'), query.get('max_age')]).toEqual([false, '0']);
    await expect(pending).rejects.toMatchObject({ code: 'timeout' });
  });

  it('login takes acrValues and maxAge itself', async () => {
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const pending = sdk().login({ acrValues: [ACR_2FA, 'urn:idp:acr:1fa'], maxAge: 60, timeoutMs: 50 });
    const query = (await untilNavigated(popup)).searchParams;
    expect([query.get('acr_values'), query.get('max_age')]).toEqual([`${ACR_2FA} urn:idp:acr:1fa`, '60']);
    await expect(pending).rejects.toMatchObject({ code: 'timeout' });
  });

  it('sends ui_locales from the config, or from the call', async () => {
    const popup = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    const auth = sdk({ uiLocales: ['fr-CA', 'en'] });
    const first = auth.login({ timeoutMs: 50 });
    expect((await untilNavigated(popup)).searchParams.get('ui_locales')).toBe('fr-CA en');
    await expect(first).rejects.toMatchObject({ code: 'timeout' });

    const again = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => again as unknown as Window);
    const second = auth.login({ uiLocales: 'de', timeoutMs: 50 });
    expect((await untilNavigated(again)).searchParams.get('ui_locales')).toBe('de');
    await expect(second).rejects.toMatchObject({ code: 'timeout' });

    const none = fakePopup();
    vi.spyOn(window, 'open').mockImplementation(() => none as unknown as Window);
    const third = sdk().login({ timeoutMs: 50 });
    expect((await untilNavigated(none)).searchParams.has('ui_locales')).toBe(false);
    await expect(third).rejects.toMatchObject({ code: 'timeout' });
  });

  it("with stepUp: 'redirect' the tab leaves to sign in again and comes back here", async () => {
    refuse(`GET ${API}/credits`);
    window.history.replaceState(null, '', '/shop?item=7');
    const auth = sdk({ stepUp: 'redirect' });
    await expect(new CreditSDK(auth).getCreditBalance()).rejects.toBeInstanceOf(InsufficientUserAuthenticationError);
    const tx = JSON.parse(sessionStorage.getItem(`cas:${CLIENT_ID}:tx`) ?? 'null');
    expect(tx).toMatchObject({ returnTo: '/shop?item=7' });
    expect(tx.state).toMatch(/^r\./);
    window.history.replaceState(null, '', '/');
  });
});
