import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CrossAppAuthSDK } from '../../src/auth/CrossAppAuthSDK';
import { createEnvelope } from '../../src/communication/postMessage';
import { CreditSDK } from '../../src/credits/CreditSDK';
import { InsufficientCreditsError, SpendLimitReachedError } from '../../src/errors';
import { PaymentSDK } from '../../src/payments/PaymentSDK';
import { CLIENT_ID, FakeIdp, ISSUER, json, rsaKey, type Key } from './fake-idp';

let key: Key;
let idp: FakeIdp;
let auth: CrossAppAuthSDK;
const API = '/api/cross-app';

beforeAll(async () => {
  key = await rsaKey();
});

beforeEach(() => {
  idp = new FakeIdp(key);
  sessionStorage.clear();
  sessionStorage.setItem(`cas:${CLIENT_ID}:session`, JSON.stringify({ refreshToken: idp.issueRefreshToken(), idToken: null, user: { sub: 'user-1', claims: {} } }));
  auth = new CrossAppAuthSDK({
    appId: CLIENT_ID,
    issuer: ISSUER,
    redirectUrl: `${window.location.origin}/callback`,
    storage: 'session',
    fetch: idp.fetch as typeof fetch,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
  });
});

afterEach(() => {
  auth.dispose();
  vi.restoreAllMocks();
});

describe('CreditSDK', () => {
  it('reads the balance with the bearer token and tells listeners', async () => {
    let authorization = '';
    idp.routes.set(`GET ${API}/credits`, ({ headers }) => {
      authorization = headers.get('Authorization') ?? '';
      return json({ balance: 12, held: 2, available: 10, packages: [] });
    });
    const changes: unknown[] = [];
    auth.on('creditsChanged', (state) => changes.push(state));
    expect(await new CreditSDK(auth).getCreditBalance()).toEqual({ balance: 12, held: 2, available: 10 });
    expect(authorization).toMatch(/^Bearer at-/);
    expect(changes).toEqual([{ balance: 12, held: 2, available: 10 }]);
  });

  it('consume generates one idempotency key and reuses it across its retries', async () => {
    const keys: string[] = [];
    let calls = 0;
    idp.routes.set(`POST ${API}/credits/consume`, ({ body, headers }) => {
      keys.push(headers.get('Idempotency-Key')!, (body as { idempotency_key: string }).idempotency_key);
      return ++calls === 1 ? json({ error: 'server_error' }, 503) : json({ balance: 5, held: 0, available: 5, replayed: false, transaction: { id: 1 } }, 201);
    });
    const result = await new CreditSDK(auth).consumeCredits(5, 'render');
    expect(result.available).toBe(5);
    expect(calls).toBe(2);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^sdk-[0-9a-f]{32}$/);
    await new CreditSDK(auth).consumeCredits(1, 'render', { idempotencyKey: 'mine-1' });
    expect(keys.at(-1)).toBe('mine-1');
  });

  it('not enough credits is an InsufficientCreditsError with the balance', async () => {
    idp.routes.set(`POST ${API}/credits/consume`, () => json({ error: 'insufficient_credits', error_description: 'Not enough credits.', balance: 2, available: 2 }, 402));
    const error = await new CreditSDK(auth).consumeCredits(5, 'render').catch((e) => e);
    expect(error).toBeInstanceOf(InsufficientCreditsError);
    expect([error.balance, error.available]).toEqual([2, 2]);
  });

  it('a spend limit is a SpendLimitReachedError with the limit and when it resets', async () => {
    const body = { error: 'spend_limit_reached', error_description: 'Limit reached.', limit: 100, period: 'day', remaining: 3, resets_at: '2026-12-02T00:00:00Z' };
    idp.routes.set(`POST ${API}/credits/consume`, () => json(body, 402));
    const error = await new CreditSDK(auth).consumeCredits(5, 'render').catch((e) => e);
    expect(error).toBeInstanceOf(SpendLimitReachedError);
    expect(error).toMatchObject({ code: 'spend_limit_reached', status: 402, limit: 100, period: 'day', remaining: 3 });
    expect(error.resetsAt.toISOString()).toBe('2026-12-02T00:00:00.000Z');
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses amount %s before any request', async (amount) => {
    await expect(new CreditSDK(auth).consumeCredits(amount, 'x')).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(new CreditSDK(auth).hasSufficientCredits(amount)).rejects.toMatchObject({ code: 'invalid_request' });
    expect(idp.calls.filter((c) => c.path.startsWith(API))).toHaveLength(0);
  });

  it('hasSufficientCredits, packages and transactions', async () => {
    idp.routes.set(`POST ${API}/credit-check`, ({ body }) => json({ sufficient: (body as { required: number }).required <= 3, balance: 3, held: 0, available: 3 }));
    idp.routes.set(`GET ${API}/credits/packages`, ({ headers }) => json({ packages: [{ id: 'starter', auth: headers.get('Authorization') }] }));
    idp.routes.set(`GET ${API}/credits/transactions`, ({ url }) => json({ transactions: [], next_before: null, query: url.search }));
    const credits = new CreditSDK(auth);
    expect(await credits.hasSufficientCredits(3)).toBe(true);
    expect(await credits.hasSufficientCredits(4)).toBe(false);
    expect(await credits.getCreditPackages()).toEqual([{ id: 'starter', auth: null }]);
    const page = (await credits.getTransactions({ before: 9, limit: 5, onlyThisApp: true })) as unknown as { query: string };
    expect(page.query).toBe(`?before=9&limit=5&client_id=${CLIENT_ID}`);
  });

  it('a 401 refreshes the token once and repeats the call', async () => {
    let calls = 0;
    idp.routes.set(`GET ${API}/credits`, () => (++calls === 1 ? json({ error: 'invalid_token' }, 401) : json({ balance: 1, held: 0, available: 1 })));
    expect((await new CreditSDK(auth).getCreditBalance()).balance).toBe(1);
    expect(idp.calls.filter((c) => c.path === '/oauth/token')).toHaveLength(2);
  });
});

describe('purchases in the hosted popup', () => {
  function popupStub() {
    const popup = { closed: false, href: '', close: vi.fn(), location: {} as { href: string } };
    Object.defineProperty(popup.location, 'href', { set: (v: string) => void (popup.href = v), get: () => popup.href });
    vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    return popup;
  }
  function answer(popup: object, data: unknown, origin: string) {
    const event = new Event('message');
    Object.defineProperties(event, { data: { value: data }, origin: { value: origin }, source: { value: popup } });
    window.dispatchEvent(event);
  }

  it('opens /purchase synchronously and resolves with the credited balance from the IdP origin only', async () => {
    const popup = popupStub();
    const changes: unknown[] = [];
    auth.on('creditsChanged', (s) => changes.push(s));
    const pending = new CreditSDK(auth).purchaseCredits({ packageId: 'starter' });
    expect(window.open).toHaveBeenCalledTimes(1);
    const url = new URL(popup.href);
    expect(url.origin + url.pathname).toBe(`${ISSUER}/purchase`);
    const q = Object.fromEntries(url.searchParams);
    expect(q).toMatchObject({ client_id: CLIENT_ID, mode: 'popup', origin: window.location.origin, package_id: 'starter' });
    const credited = createEnvelope('cas:purchase:result', { status: 'credited', balance: 150, held: 0, available: 150, checkout_id: 'cs_1' }, q.state);
    answer(popup, credited, window.location.origin); // the app's own origin is not the IdP: ignored
    answer(popup, createEnvelope('cas:purchase:result', { status: 'credited', balance: 1 }, 'stale'), ISSUER);
    answer(popup, credited, ISSUER);
    expect(await pending).toEqual({ status: 'credited', checkoutId: 'cs_1', balance: 150, held: 0, available: 150 });
    expect(changes).toEqual([{ balance: 150, held: 0, available: 150 }]);
  });

  it('a cancelled purchase rejects with purchase_cancelled; a custom amount is passed on', async () => {
    const popup = popupStub();
    const pending = new PaymentSDK(auth).checkout('pro');
    const state = new URL(popup.href).searchParams.get('state')!;
    answer(popup, createEnvelope('cas:purchase:result', { status: 'cancelled' }, state), ISSUER);
    await expect(pending).rejects.toMatchObject({ code: 'purchase_cancelled' });
    const other = popupStub();
    new CreditSDK(auth).purchaseCredits(25, { timeoutMs: 10 }).catch(() => {});
    expect(new URL(other.href).searchParams.get('amount')).toBe('25');
  });

  it('a blocked popup rejects with popup_blocked', async () => {
    vi.spyOn(window, 'open').mockImplementation(() => null);
    await expect(new CreditSDK(auth).purchaseCredits(5)).rejects.toMatchObject({ code: 'popup_blocked' });
  });
});

describe('PaymentSDK', () => {
  it('getSubscription reads the current plan', async () => {
    const current = { id: 'sub_1', status: 'active', package_id: 'pro', plan: null, client_id: CLIENT_ID, current_period_end: null, cancel_at_period_end: false };
    idp.routes.set(`GET ${API}/subscription`, () => json({ subscription: current, subscriptions: [current] }));
    expect(await new PaymentSDK(auth).getSubscription()).toEqual(current);
    expect(await new PaymentSDK(auth).listSubscriptions()).toEqual([current]);
  });

  it('the billing portal opens in a popup before the request, and closes it on an error', async () => {
    const popup = { closed: false, close: vi.fn(), location: { href: '' } };
    const open = vi.spyOn(window, 'open').mockImplementation(() => popup as unknown as Window);
    idp.routes.set(`POST ${API}/credits/portal`, () => json({ error: 'payments_not_configured', error_description: 'off' }, 503));
    const pending = new PaymentSDK(auth).openBillingPortal({ returnUrl: 'https://app/back' });
    expect(open).toHaveBeenCalledTimes(1);
    await expect(pending).rejects.toMatchObject({ code: 'payments_not_configured', status: 503 });
    expect(popup.close).toHaveBeenCalled();
  });
});
