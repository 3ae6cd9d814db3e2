import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createElement as h, useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { CreditSDK } from '../../src/credits/CreditSDK';
import { InsufficientCreditsError, SDKError } from '../../src/errors';
import { PaymentSDK } from '../../src/payments/PaymentSDK';
import { CreditPurchase, CrossAppProvider, SubscriptionManager, useCredits } from '../../src/react';
import { ADA, PACKAGES, fakeAuth, type FakeAuth } from './fake-auth';

const SUB = {
  id: 'sub_1', status: 'active', package_id: 'pro', client_id: 'app-1', cancel_at_period_end: false,
  current_period_end: '2030-01-01T00:00:00+00:00', plan: PACKAGES[2],
};

function signedIn(balance = 50): FakeAuth {
  const fake = fakeAuth();
  fake.start(ADA);
  fake.routes.set('GET /api/cross-app/credits', () => ({ balance, held: 0, available: balance }));
  fake.routes.set('GET /api/cross-app/credits/packages', () => ({ packages: PACKAGES }));
  return fake;
}

const app = (fake: FakeAuth, ...children: Parameters<typeof h>[]) =>
  render(h(CrossAppProvider, { sdk: fake.auth }, ...children.map((c) => h(...c))));

describe('CreditPurchase', () => {
  it('loading, then signed out with a sign-in button', async () => {
    const fake = fakeAuth();
    fake.routes.set('GET /api/cross-app/credits/packages', () => ({ packages: PACKAGES }));
    app(fake, [CreditPurchase]);
    expect(screen.getByText('Loading…').getAttribute('data-state')).toBe('loading');
    await act(async () => fake.start(null));
    expect(screen.getByText('Sign in to buy credits.')).toBeTruthy();
    expect(fake.calls).toEqual([]); // no catalogue read without a token (the IdP's CORS would refuse it)
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(fake.auth.login).toHaveBeenCalledOnce();
  });

  it('signed in: the balance, the packs with prices; buying updates the balance live', async () => {
    const fake = signedIn(50);
    const buy = vi.spyOn(CreditSDK.prototype, 'purchaseCredits').mockImplementation(async function (this: CreditSDK) {
      fake.auth.events.emit('creditsChanged', { balance: 150, held: 0, available: 150 });
      return { status: 'credited', checkoutId: 'cs_1', balance: 150, held: 0, available: 150 };
    });
    const onPurchased = vi.fn();
    app(fake, [CreditPurchase, { onPurchased, locale: 'en-US' }]);
    expect(await screen.findByText('Balance: 50 credits')).toBeTruthy();
    const starter = await screen.findByRole('button', { name: 'Buy Starter: 100 credits for $5.00' });
    expect(screen.getByRole('button', { name: 'Buy Big pack: 1000 credits for $40.00' })).toBeTruthy();
    expect(screen.queryByText(/Pro/)).toBeNull(); // plans are the SubscriptionManager's
    // With the token: the IdP's CORS answers another origin only for the app a token names.
    expect(fake.auth.apiRequest).toHaveBeenCalledWith('/api/cross-app/credits/packages');
    await userEvent.click(starter);
    expect(buy).toHaveBeenCalledWith({ packageId: 'starter' }, undefined);
    expect(await screen.findByText('Balance: 150 credits')).toBeTruthy();
    expect(screen.getByRole('status').textContent).toBe('Added. Your balance is now 150 credits.');
    expect(onPurchased).toHaveBeenCalledWith(expect.objectContaining({ available: 150 }));
  });

  it('a failed purchase shows in the modal; a cancelled one does not', async () => {
    const fake = signedIn();
    const buy = vi.spyOn(CreditSDK.prototype, 'purchaseCredits').mockRejectedValueOnce(new SDKError('purchase_cancelled'));
    app(fake, [CreditPurchase]);
    await userEvent.click(await screen.findByRole('button', { name: /Buy Starter/ }));
    await waitFor(() => expect((screen.getByRole('button', { name: /Buy Starter/ }) as HTMLButtonElement).disabled).toBe(false));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    buy.mockRejectedValueOnce(new SDKError('popup_blocked', 'blocked'));
    await userEvent.click(screen.getByRole('button', { name: /Buy Starter/ }));
    const dialog = await screen.findByRole('alertdialog');
    expect(within(dialog).getByRole('heading').textContent).toBe('Pop-up blocked');
  });

  it('insufficient credits: says how many are missing', async () => {
    const fake = signedIn(3);
    app(fake, [CreditPurchase, { required: 10 }]);
    expect((await screen.findByRole('alert')).textContent).toBe('You need 7 more credits for this.');
    expect(screen.getByRole('region', { name: 'Buy credits' }).getAttribute('data-state')).toBe('insufficient');
  });

  it('a catalogue that cannot be loaded offers a retry', async () => {
    const fake = signedIn();
    let calls = 0;
    fake.routes.set('GET /api/cross-app/credits/packages', () => {
      if (calls++ === 0) fake.fail(503, { error: 'server_error', error_description: 'down' });
      return { packages: PACKAGES };
    });
    app(fake, [CreditPurchase]);
    await userEvent.click(await screen.findByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('button', { name: /Buy Starter/ })).toBeTruthy();
  });
});

describe('useCredits().consume and the insufficient-credits modal', () => {
  function Spend() {
    const { consume, balance } = useCredits();
    const [left, setLeft] = useState('');
    return h(
      'div',
      null,
      h('span', null, `have ${balance?.available ?? '-'}`),
      h('button', { onClick: () => consume(10, 'generate').then((r) => setLeft(String(r.available)), () => setLeft('refused')) }, 'Generate'),
      h('output', null, left),
    );
  }

  it('spends, then offers "Buy credits" in the modal when short, opening the purchase in the click', async () => {
    const fake = signedIn(12);
    let available = 12;
    fake.routes.set('POST /api/cross-app/credits/consume', (body) => {
      const { amount } = body as { amount: number };
      if (amount > available) throw new InsufficientCreditsError('not enough', { status: 402, details: { balance: available, available } });
      available -= amount;
      return { balance: available, held: 0, available, consumed: amount, transaction_id: 1 };
    });
    const buy = vi.spyOn(CreditSDK.prototype, 'purchaseCredits').mockResolvedValue({ status: 'credited', checkoutId: 'x', balance: 102, held: 0, available: 102 });
    app(fake, [Spend]);
    await screen.findByText('have 12');
    await userEvent.click(screen.getByRole('button', { name: 'Generate' }));
    expect(await screen.findByText('2')).toBeTruthy();
    expect(screen.getByText('have 2')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Generate' }));
    const dialog = await screen.findByRole('alertdialog');
    expect(screen.getByText('refused')).toBeTruthy();
    expect(within(dialog).getByRole('heading').textContent).toBe('Not enough credits');
    expect(dialog.textContent).toContain('You have 2 credits available');
    const action = within(dialog).getByRole('button', { name: 'Buy credits' });
    expect(document.activeElement).toBe(action);
    await userEvent.click(action);
    expect(buy).toHaveBeenCalledOnce();
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });
});

describe('the error modal, by keyboard', () => {
  it('takes focus, keeps Tab inside, closes on Escape and gives focus back', async () => {
    const fake = signedIn(0);
    fake.routes.set('POST /api/cross-app/credits/consume', () => fake.fail(402, { error: 'insufficient_credits', error_description: 'no', balance: 0, available: 0 }));
    function Trigger() {
      const { consume } = useCredits();
      return h('div', null, h('button', { onClick: () => consume(1, 'x').catch(() => undefined) }, 'Spend'), h('a', { href: '#after' }, 'after'));
    }
    app(fake, [Trigger]);
    const user = userEvent.setup();
    const trigger = await screen.findByRole('button', { name: 'Spend' });
    await user.click(trigger);
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)!.textContent).toBe('Not enough credits');
    expect(document.getElementById(dialog.getAttribute('aria-describedby')!)!.textContent).toContain('0 credits');
    const [buy, close] = within(dialog).getAllByRole('button');
    expect(document.activeElement).toBe(buy);
    await user.tab();
    expect(document.activeElement).toBe(close);
    await user.tab(); // wraps to the first, never to the page behind
    expect(document.activeElement).toBe(buy);
    await user.tab({ shift: true });
    expect(document.activeElement).toBe(close);
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(document.activeElement).toBe(trigger);
  });

  it('works on its own: Close by Enter, no alert()', async () => {
    const alert = vi.spyOn(window, 'alert').mockImplementation(() => undefined);
    const { ErrorModal } = await import('../../src/react');
    const onClose = vi.fn();
    render(h(ErrorModal, { error: new SDKError('network_error', 'offline'), onClose }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('Connection problem');
    expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Close' }));
    await userEvent.keyboard('{Enter}');
    expect(onClose).toHaveBeenCalledOnce();
    expect(alert).not.toHaveBeenCalled();
  });
});

describe('SubscriptionManager', () => {
  it('loading, then signed out', async () => {
    const fake = fakeAuth();
    fake.routes.set('GET /api/cross-app/credits/packages', () => ({ packages: PACKAGES }));
    app(fake, [SubscriptionManager]);
    expect(screen.getByText('Loading your plan…')).toBeTruthy();
    await act(async () => fake.start(null));
    expect(screen.getByText('Sign in to manage your plan.')).toBeTruthy();
  });

  it('no plan: offers the plans; subscribing checks out in the popup and shows the new plan', async () => {
    const fake = signedIn();
    let current: typeof SUB | null = null;
    fake.routes.set('GET /api/cross-app/subscription', () => ({ subscription: current, subscriptions: current ? [current] : [] }));
    const checkout = vi.spyOn(PaymentSDK.prototype, 'checkout').mockImplementation(async () => {
      current = SUB;
      return { status: 'credited', checkoutId: 'cs', balance: 1050, held: 0, available: 1050 };
    });
    const onChange = vi.fn();
    app(fake, [SubscriptionManager, { onChange, locale: 'en-US' }]);
    expect(await screen.findByText('You have no plan.')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Subscribe to Pro · 1000 credits · $20.00/month' }));
    expect(checkout).toHaveBeenCalledWith('pro');
    expect(await screen.findByText('Pro')).toBeTruthy();
    expect(onChange).toHaveBeenCalledWith(SUB);
  });

  it('subscribed: the plan and its renewal; upgrade offers; "Manage or cancel" opens the portal, its error in the modal', async () => {
    const fake = signedIn();
    const plans = [...PACKAGES, { id: 'max', name: 'Max', credits: 5000, price: 5000, currency: 'usd', interval: 'month', type: 'subscription' } as const];
    fake.routes.set('GET /api/cross-app/credits/packages', () => ({ packages: plans }));
    fake.routes.set('GET /api/cross-app/subscription', () => ({ subscription: SUB, subscriptions: [SUB] }));
    const portal = vi.spyOn(PaymentSDK.prototype, 'openBillingPortal').mockRejectedValue(
      new SDKError('payments_not_configured', 'x', { status: 503, description: 'The billing portal is not available with simulated payments.' }),
    );
    const checkout = vi.spyOn(PaymentSDK.prototype, 'checkout').mockRejectedValue(new SDKError('popup_closed'));
    app(fake, [SubscriptionManager, { locale: 'en-US', portalReturnUrl: 'https://app.test/account' }]);
    const region = await screen.findByRole('region', { name: 'Subscription' });
    await within(region).findByText('Pro');
    expect(region.getAttribute('data-state')).toBe('subscribed');
    expect(region.textContent).toContain('1000 credits · $20.00/month (active)');
    expect(region.textContent).toContain('Renews on');
    await userEvent.click(await screen.findByRole('button', { name: /Upgrade to Max/ }));
    expect(checkout).toHaveBeenCalledWith('max');
    expect(screen.queryByRole('alertdialog')).toBeNull(); // closing the popup is the user's choice
    await userEvent.click(screen.getByRole('button', { name: 'Manage or cancel' }));
    expect(portal).toHaveBeenCalledWith({ returnUrl: 'https://app.test/account' });
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog.textContent).toContain('The billing portal is not available with simulated payments.');
  });

  it('a plan ending at the period end says so', async () => {
    const fake = signedIn();
    fake.routes.set('GET /api/cross-app/subscription', () => ({ subscription: { ...SUB, cancel_at_period_end: true }, subscriptions: [] }));
    app(fake, [SubscriptionManager]);
    expect(await screen.findByText(/^Ends on /)).toBeTruthy();
  });
});
