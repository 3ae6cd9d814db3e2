/**
 * The partner's journey through the demo, end to end: sign up in Acme Studio (with the
 * purchase detour: credits bought in the popup, simulated payment), spend through its
 * Flask back end (Python SDK) until the insufficient-credits modal, buy again from the
 * modal, subscribe to a plan, open Bolt Notes on a third origin signed in without a
 * password, sign out. One person, one browser, in order.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PASSWORD, allow, closed, launch, payFor, popupFrom, startDemo } from './demo.mjs';

let demo;
let browser;
let context;
let app; // Acme Studio's tab
const errors = [];
const email = `newcomer-${Date.now()}@example.com`;

before(async () => {
  demo = await startDemo();
  browser = await launch();
  context = await browser.newContext();
  context.setDefaultTimeout(20_000);
  app = await context.newPage();
  app.on('pageerror', (error) => errors.push(String(error)));
  app.on('dialog', (dialog) => {
    errors.push(`dialog: ${dialog.message()}`); // alert() is never used
    void dialog.dismiss();
  });
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

/** No error is shown (the modal would name it). */
async function noModal() {
  const dialogs = app.getByRole('dialog');
  assert.equal(await dialogs.count(), 0, await dialogs.allTextContents().then(String));
}

// The balance as CreditPurchase shows it (kept current by the provider).
const balanceLine = () => app.locator('.cas-balance');
const expectBalance = async (credits) => {
  await balanceLine().filter({ hasText: new RegExp(`^Balance: ${credits} credits$`) }).waitFor();
};

test('the printed URLs: three origins', () => {
  const origins = [demo.appUrl, demo.ssoUrl, demo.issuer].map((u) => new URL(u).origin);
  assert.equal(new Set(origins).size, 3);
  assert.match(demo.appUrl, /^http:\/\/localhost:\d+\/$/);
  assert.match(demo.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test('sign up through the app, with the purchase detour: credits bought in the popup', async () => {
  await app.goto(demo.appUrl);
  const popup = await popupFrom(app, 'Create account');
  await popup.waitForURL((url) => url.origin === demo.issuer); // the IdP's page, not ours
  await popup.getByRole('heading', { level: 1, name: 'Create your account' }).waitFor();
  await popup.getByLabel('Your name').fill('Newcomer');
  await popup.getByLabel('Email address').fill(email);
  await popup.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await popup.getByRole('button', { name: 'Create account' }).click();
  await popup.getByLabel('Verification code').fill(await demo.code(email));
  await popup.getByRole('button', { name: 'Verify' }).click();
  await allow(popup);
  await popup.getByRole('heading', { level: 1, name: 'Buy credits' }).waitFor();
  await payFor(popup, 'starter-100', { detour: true });
  await app.locator('.cas-login').getByText('Signed in as Newcomer').waitFor();
  await app.getByText(`Account: ${email}`).waitFor();
  await expectBalance(100);
  await noModal();
});

test('generate spends 10 credits through the back end; at 0 the insufficient-credits modal', async () => {
  const generate = app.getByRole('button', { name: 'Generate (costs 10 credits)' });
  for (let left = 90; left >= 0; left -= 10) {
    await generate.click();
    await expectBalance(left);
  }
  assert.match(await app.getByTestId('output').textContent(), /^Generated: /);
  await generate.click();
  const modal = app.getByRole('alertdialog', { name: 'Not enough credits' });
  await modal.waitFor();
  assert.equal(await modal.getAttribute('aria-modal'), 'true');
  assert.match(await modal.textContent(), /You have 0 credits available/);
  await app.keyboard.press('Escape');
  await modal.waitFor({ state: 'detached' });
  assert.equal(await balanceLine().textContent(), 'Balance: 0 credits');
  await app.getByText('You need 10 more credits for this.').waitFor();
  // The back end's guard (cross_app_sdk): no token, no spending.
  const anonymous = await app.evaluate(() => fetch('/api/generate', { method: 'POST' }).then((r) => [r.status, r.headers.get('WWW-Authenticate')]));
  assert.deepEqual(anonymous, [401, 'Bearer']);
});

test('buy credits from the modal: the popup, the simulated payment, the balance changes', async () => {
  await app.getByRole('button', { name: 'Generate (costs 10 credits)' }).click();
  const modal = app.getByRole('alertdialog', { name: 'Not enough credits' });
  const popup = await popupFrom(app, 'Buy credits', modal);
  await popup.getByRole('heading', { level: 1, name: 'Buy credits' }).waitFor();
  await payFor(popup, 'starter-100');
  await expectBalance(100);
  await app.getByRole('button', { name: 'Generate (costs 10 credits)' }).click();
  await expectBalance(90);
});

test('CreditPurchase: a pack bought in the popup, the balance changes', async () => {
  const popup = await popupFrom(app, /^Buy Plus: 500 credits for /);
  await payFor(popup, 'plus-500');
  await expectBalance(590);
  await app.getByText('Added. Your balance is now 590 credits.').waitFor();
});

test('the subscription manager: subscribe to the plan, then it shows the plan', async () => {
  const plan = app.locator('.cas-subscription');
  await plan.getByText('You have no plan.').waitFor();
  const popup = await popupFrom(app, /^Subscribe to Pro · 300 credits/);
  await payFor(popup, 'pro-monthly', { button: 'Subscribe' });
  await plan.getByText(/^Current plan: Pro · 300 credits · .*\(active\)$/).waitFor();
  await plan.getByText(/^Renews on /).waitFor();
  await expectBalance(890);
  // The billing portal is Stripe's: with simulated payments the modal says so.
  await plan.getByRole('button', { name: 'Manage or cancel' }).click();
  const modal = app.getByRole('alertdialog', { name: 'Not available' });
  await modal.waitFor();
  await modal.getByRole('button', { name: 'Close' }).click();
  await modal.waitFor({ state: 'detached' });
});

test('Bolt Notes, on a third origin: signed in without a password (SSO)', async () => {
  const sso = await context.newPage();
  sso.on('pageerror', (error) => errors.push(String(error)));
  // First visit: the silent sign-in comes back needing this app's consent, not a password.
  await sso.goto(demo.ssoUrl);
  const start = sso.getByRole('button', { name: 'Continue with Streamline' });
  await start.waitFor();
  const [popup] = await Promise.all([sso.waitForEvent('popup'), start.click()]);
  await popup.getByRole('button', { name: 'Allow' }).waitFor();
  assert.equal(await popup.getByLabel('Password').count(), 0);
  await popup.getByRole('button', { name: 'Allow' }).click();
  await closed(popup);
  await sso.getByText(`Signed in as ${email}`).waitFor();
  await sso.getByText('Your credits: 890').waitFor();
  // Another tab later: signed in by the IdP session alone, no page at all.
  const again = await context.newPage();
  let pages = 0;
  context.on('page', () => pages++);
  await again.goto(demo.ssoUrl);
  await again.getByText(`Signed in as ${email}`).waitFor();
  assert.equal(pages, 0);
  await Promise.all([sso.close(), again.close()]);
});

test('sign out', async () => {
  await app.getByRole('button', { name: 'Sign out' }).click();
  await app.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  assert.equal(await balanceLine().count(), 0);
  await app.reload();
  await app.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  assert.deepEqual(errors, []);
});
