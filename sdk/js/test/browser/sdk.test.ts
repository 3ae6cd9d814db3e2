/**
 * The SDK in Debian's Chromium against the real IdP (gunicorn, PostgreSQL, Redis), from a
 * partner page on another origin (`http://localhost:<port>` against `http://127.0.0.1:<port>`).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext } from 'playwright-core';
import {
  allow,
  clickForPopup,
  env,
  events,
  launch,
  mailedCode,
  openApp,
  popupLogin,
  result,
  signIn,
  sql,
  type AppPage,
  closed,
} from './harness';

let browser: Browser;
let context: BrowserContext;
const opened: AppPage[] = [];

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

async function freshApp(query = ''): Promise<AppPage> {
  context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  const app = await openApp(context, query);
  opened.push(app);
  return app;
}

afterEach(async () => {
  for (const app of opened.splice(0)) expect(app.errors).toEqual([]);
  await context?.close();
});

describe('sign-in', () => {
  it('popup login: PKCE code flow, ID token verified, popup closed, user known to the page', async () => {
    const app = await freshApp();
    const popup = await clickForPopup(app.page, 'login');
    await popup.waitForURL((url) => url.pathname === '/login');
    expect(new URL(popup.url()).origin).toBe(env.issuer);
    await signIn(popup, env.users.ada!);
    await closed(popup);
    const outcome = await result(app.page, 'login');
    expect(outcome).toMatchObject({ ok: true, value: { sub: expect.any(String), email: env.users.ada } });
    await expect.poll(() => app.page.textContent('#who')).toBe(`signed in as ${env.users.ada}`);
    expect(await app.page.evaluate(() => (window as any).app.auth.isAuthenticated())).toBe(true);
    // The code and state never reached the partner page's own URL.
    expect(app.page.url()).toBe(`${env.appOrigin}/index.html`);
    const rows = await sql(
      "SELECT count(*) AS n FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.email = %s AND r.client_id = %s",
      env.users.ada,
      env.clientId,
    );
    expect(Number(rows[0]!.n)).toBe(1); // offline_access gave the public client a refresh token
  });

  it("screen: 'signup', next: 'purchase' opens sign-up, then the purchase page, then returns", async () => {
    const app = await freshApp();
    const popup = await clickForPopup(app.page, 'signup');
    await popup.getByRole('heading', { level: 1, name: 'Create your account' }).waitFor();
    const email = `new-${Date.now()}@example.com`;
    await popup.getByLabel('Your name').fill('Newcomer');
    await popup.getByLabel('Email address').fill(email);
    await popup.getByLabel('Password', { exact: true }).fill(env.password);
    await popup.getByRole('button', { name: 'Create account' }).click();
    await popup.getByLabel('Verification code').fill(await mailedCode(email));
    await popup.getByRole('button', { name: 'Verify' }).click();
    await allow(popup);
    // The detour: new credit accounts see the purchase page before the app.
    await popup.getByRole('heading', { level: 1, name: 'Buy credits' }).waitFor();
    await popup.getByRole('link', { name: 'Skip for now' }).click();
    await closed(popup);
    expect(await result(app.page, 'signup')).toMatchObject({ ok: true, value: { email, name: 'Newcomer' } });
  });

  it('a callback page behind COOP (window.opener severed) hands over through the BroadcastChannel', async () => {
    const app = await freshApp('?coop=1');
    const popup = await clickForPopup(app.page, 'login');
    const said: string[] = [];
    popup.on('console', (message) => said.push(message.text()));
    await signIn(popup, env.users.bob!);
    const outcome = await result(app.page, 'login');
    expect(outcome).toMatchObject({ ok: true, value: { email: env.users.bob } });
    expect(said).toContain('callback opener: severed');
  });

  it('closing the popup rejects with popup_closed', async () => {
    const app = await freshApp();
    const popup = await clickForPopup(app.page, 'login');
    await popup.waitForURL((url) => url.pathname === '/login');
    await popup.close();
    expect(await result(app.page, 'login')).toMatchObject({ ok: false, code: 'popup_closed' });
    expect(await app.page.evaluate(() => (window as any).app.auth.isAuthenticated())).toBe(false);
  });

  it('a message posted from a foreign origin is ignored, even with the right state', async () => {
    const app = await freshApp();
    const popup = await clickForPopup(app.page, 'login');
    await popup.waitForURL((url) => url.pathname === '/login');
    // The IdP's page (another origin than the callback's) forges the callback's answer.
    const state = new URL(new URL(popup.url()).searchParams.get('return_to')!, env.issuer).searchParams.get('state');
    expect(state).toMatch(/^p\./);
    await popup.evaluate((s) => {
      window.opener.postMessage({ v: 1, type: 'cas:login:result', id: 'forged', state: s, payload: { code: 'forged-code' } }, '*');
    }, state);
    await new Promise((r) => setTimeout(r, 300));
    expect(await app.page.evaluate(() => (window as any).app.log.results.length)).toBe(0);
    await signIn(popup, env.users.bob!);
    await closed(popup);
    // Only the real answer was taken: the forged code would have failed the exchange.
    expect(await result(app.page, 'login')).toMatchObject({ ok: true, value: { email: env.users.bob } });
  });
});

describe('silent sign-in (prompt=none, top-level, no iframe)', () => {
  it('signs in without a page when the IdP session allows, and comes back signed out when not', async () => {
    const first = await freshApp();
    await popupLogin(first, env.users.ada!);
    // Another tab of the same browser: the IdP session answers prompt=none with a code.
    const page = await context.newPage();
    await page.goto(`${env.appOrigin}/index.html?storage=session&silent=1`);
    await page.waitForURL(`${env.appOrigin}/index.html`);
    await page.waitForSelector('body[data-ready="true"]');
    await expect.poll(() => page.textContent('#who')).toBe(`signed in as ${env.users.ada}`);
    // A browser with no IdP session: login_required comes back, signed out, no loop.
    const stranger = await browser.newContext();
    const lonely = await stranger.newPage();
    await lonely.goto(`${env.appOrigin}/index.html?storage=session&silent=1`);
    await lonely.waitForURL(`${env.appOrigin}/index.html`);
    await lonely.waitForSelector('body[data-ready="true"]');
    expect(await lonely.textContent('#who')).toBe('signed out');
    await stranger.close();
  });
});

describe('a blocked popup', () => {
  let strict: Browser;
  beforeAll(async () => {
    strict = await launch({ blockPopups: true });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('falls back to a redirect sign-in that returns with the code removed from the URL', async () => {
    context = await strict.newContext();
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    // login() on start, without a click: Chromium's blocker refuses window.open.
    await page.goto(`${env.appOrigin}/index.html?storage=session&autologin=1`);
    await page.waitForURL((url) => url.origin === env.issuer);
    const app = { page, errors };
    await signIn(app.page, env.users.cyd!);
    await app.page.waitForURL(`${env.appOrigin}/index.html`);
    await app.page.waitForSelector('body[data-ready="true"]');
    expect(await app.page.textContent('#who')).toBe(`signed in as ${env.users.cyd}`);
    expect(new URL(app.page.url()).search).toBe('');
    // A reload does not replay the answer ("invalid state"): the session is simply restored.
    await app.page.reload();
    await app.page.waitForSelector('body[data-ready="true"]');
    expect(await app.page.textContent('#who')).toBe(`signed in as ${env.users.cyd}`);
    expect(app.errors).toEqual([]);
  });

  it("with popupFallback: 'error' rejects with popup_blocked", async () => {
    context = await strict.newContext();
    const app = await openApp(context, '?fallback=error&autologin=1');
    expect(await result(app.page, 'login')).toMatchObject({ ok: false, code: 'popup_blocked' });
    expect(app.page.url()).toBe(`${env.appOrigin}/index.html?fallback=error&autologin=1`);
  });
});

describe('tokens across tabs', () => {
  it("with storage: 'local', two tabs refreshing at the same moment both stay signed in; one live token, no reuse", async () => {
    const tabA = await freshApp('?storage=local');
    await popupLogin(tabA, env.users.dee!);
    const tabB = await openApp(context, '?storage=local');
    opened.push(tabB);
    expect(await tabB.page.textContent('#who')).toBe(`signed in as ${env.users.dee}`);
    const refresh = (app: AppPage) =>
      app.page.evaluate(() => (window as any).app.auth.refreshToken().then(() => 'ok', (e: any) => `${e.code}: ${e.message} (${e.cause?.code} ${e.cause?.message})`));
    for (let round = 0; round < 6; round++) {
      expect(await Promise.all([refresh(tabA), refresh(tabB)])).toEqual(['ok', 'ok']);
    }
    for (const tab of [tabA, tabB]) {
      expect(await tab.page.evaluate(() => (window as any).app.auth.isAuthenticated())).toBe(true);
      const balance = await tab.page.evaluate(() => (window as any).app.credits.getCreditBalance());
      expect(balance.available).toBe(100);
    }
    const family = await sql<{ live: number; total: number; revoked: number }>(
      `SELECT count(*) FILTER (WHERE r.used_at IS NULL AND r.revoked_at IS NULL AND r.expires_at > now()) AS live,
              count(*) AS total, count(*) FILTER (WHERE r.revoked_at IS NOT NULL) AS revoked
         FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.email = %s AND r.client_id = %s`,
      env.users.dee,
      env.clientId,
    );
    expect(Number(family[0]!.live)).toBe(1);
    expect(Number(family[0]!.revoked)).toBe(0);
    // Login, tab B's start-up, then per round one rotation (the tab that waited adopts
    // the new tokens when they reached it first) or two.
    expect(Number(family[0]!.total)).toBeGreaterThanOrEqual(5);
    const reuse = await sql(
      "SELECT event FROM audit_events a JOIN users u ON u.id = a.user_id WHERE u.email = %s AND a.event LIKE 'refresh_token.%%'",
      env.users.dee,
    );
    expect(reuse).toEqual([]);
  });

  it('logout in one tab signs out the other', async () => {
    const tabA = await freshApp('?storage=local');
    await popupLogin(tabA, env.users.eve!);
    const tabB = await openApp(context, '?storage=local');
    opened.push(tabB);
    expect(await tabB.page.textContent('#who')).toBe(`signed in as ${env.users.eve}`);
    await tabA.page.click('#logout');
    expect(await result(tabA.page, 'logout')).toMatchObject({ ok: true });
    await expect.poll(() => tabB.page.textContent('#who')).toBe('signed out');
    expect(await tabB.page.evaluate(() => (window as any).app.auth.isAuthenticated())).toBe(false);
    expect(await events(tabB.page, 'logout')).toEqual([{ name: 'logout', payload: { reason: 'other_tab' } }]);
    const live = await sql(
      `SELECT r.id FROM refresh_tokens r JOIN users u ON u.id = r.user_id
        WHERE u.email = %s AND r.used_at IS NULL AND r.revoked_at IS NULL`,
      env.users.eve,
    );
    expect(live).toEqual([]); // the refresh token was revoked at the server too
  });
});

describe('credits', () => {
  it('consume spends credits once and updates the balance', async () => {
    const app = await freshApp();
    await popupLogin(app, env.users.fay!);
    await app.page.click('#consume');
    const outcome = await result(app.page, 'consume');
    expect(outcome.code ?? 'ok', outcome.message).toBe('ok');
    expect(outcome).toMatchObject({ ok: true, value: { available: 95, replayed: false, transaction: { amount: -5, service: 'browser-test' } } });
    await expect.poll(() => app.page.textContent('#balance')).toBe('balance 95');
    const insufficient = await app.page.evaluate(() =>
      (window as any).app.credits.consumeCredits(1000, 'browser-test').catch((e: any) => ({ name: e.name, code: e.code, available: e.available })),
    );
    expect(insufficient).toEqual({ name: 'InsufficientCreditsError', code: 'insufficient_credits', available: 95 });
    const balance = await sql("SELECT w.balance FROM wallets w JOIN users u ON u.id = w.user_id WHERE u.email = %s", env.users.fay);
    expect(Number(balance[0]!.balance)).toBe(95);
  });

  it('purchase through the simulated payment in the popup updates the balance in the opener', async () => {
    const app = await freshApp();
    await popupLogin(app, env.users.gus!);
    const popup = await clickForPopup(app.page, 'buy');
    await popup.getByRole('heading', { level: 1, name: 'Buy credits' }).waitFor();
    const starter = popup.locator('li[data-package-id="starter"]');
    expect(await starter.getAttribute('class')).toBe('selected');
    await starter.getByRole('button', { name: 'Buy' }).click();
    await popup.getByRole('heading', { level: 1, name: 'Simulated checkout' }).waitFor();
    await popup.getByRole('button', { name: /^Pay/ }).click();
    await closed(popup);
    const outcome = await result(app.page, 'buy');
    expect(outcome).toMatchObject({ ok: true, value: { status: 'credited', balance: 150, available: 150, checkoutId: expect.stringMatching(/^cs_sim_/) } });
    await expect.poll(() => app.page.textContent('#balance')).toBe('balance 150');
    expect((await app.page.evaluate(() => (window as any).app.credits.getCreditBalance())).available).toBe(150);
  });

  it('a plan through PaymentSDK.checkout, then getSubscription reads it', async () => {
    const app = await freshApp();
    await popupLogin(app, env.users.ivy!);
    const payments = () => app.page.evaluate(() => (window as any).app.payments.getSubscription());
    expect(await payments()).toBeNull();
    const popup = await clickForPopup(app.page, 'subscribe');
    const plan = popup.locator('li[data-package-id="monthly"]');
    await plan.getByRole('button', { name: 'Subscribe' }).click();
    await popup.getByRole('button', { name: /^Pay/ }).click();
    await closed(popup);
    expect(await result(app.page, 'subscribe')).toMatchObject({ ok: true, value: { status: 'credited', available: 300 } });
    const subscription = await payments();
    expect(subscription).toMatchObject({
      status: 'active',
      package_id: 'monthly',
      plan: { id: 'monthly', credits: 200, interval: 'month', type: 'subscription' },
      client_id: env.clientId,
      cancel_at_period_end: false,
    });
    expect(Date.parse(subscription.current_period_end)).toBeGreaterThan(Date.now());
    // The portal needs Stripe: with simulated payments it is a typed 503.
    const portal = await app.page.evaluate(() => (window as any).app.payments.openBillingPortal({ redirect: true }).catch((e: any) => [e.code, e.status]));
    expect(portal).toEqual(['payments_not_configured', 503]);
  });

  it('a cancelled purchase rejects with purchase_cancelled', async () => {
    const app = await freshApp();
    await popupLogin(app, env.users.hal!);
    const popup = await clickForPopup(app.page, 'buy');
    await popup.waitForFunction(() => (window as any).idpPopupHandoff); // its script is loaded
    await popup.getByRole('button', { name: 'Cancel and close' }).click();
    await closed(popup);
    expect(await result(app.page, 'buy')).toMatchObject({ ok: false, code: 'purchase_cancelled' });
  });
});
