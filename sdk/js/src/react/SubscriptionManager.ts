/** The seed's subscription management: the current plan, subscribe or upgrade, cancel in the billing portal. */
import { createElement as h, useCallback, useEffect, useState, type ReactNode } from 'react';
import type { CreditPackage, SubscriptionInfo } from '../api/types';
import type { SDKError } from '../errors';
import { toSDKError, useAuth, useCrossApp } from './context';
import { formatPrice, usePackages } from './packages';

export interface SubscriptionManagerProps {
  /** The plans to offer; the catalogue's subscription plans when omitted. */
  plans?: CreditPackage[];
  /** Where the billing portal returns (a URL under the app's registered origins; default this page). */
  portalReturnUrl?: string;
  locale?: string;
  onChange?: (subscription: SubscriptionInfo | null) => void;
  /** Also shown in the provider's modal (a closed popup is not). */
  onError?: (error: SDKError) => void;
  className?: string;
}

type Loaded = { subscription: SubscriptionInfo | null; error: SDKError | null; loading: boolean };

/** Shows the plan; "Subscribe" / "Upgrade" check out in the hosted popup; "Manage or cancel" opens the billing portal. */
export function SubscriptionManager(props: SubscriptionManagerProps): ReactNode {
  const { status, login } = useAuth();
  const { payments, showError } = useCrossApp();
  const catalogue = usePackages(props.plans);
  const [loaded, setLoaded] = useState<Loaded>({ subscription: null, error: null, loading: true });
  const [busy, setBusy] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((n) => n + 1), []);
  const className = props.className ?? 'cas-subscription';
  const signedIn = status === 'signed_in';

  useEffect(() => {
    if (!signedIn) return;
    let live = true;
    setLoaded((s) => ({ ...s, loading: true }));
    payments.getSubscription().then(
      (subscription) => live && setLoaded({ subscription, error: null, loading: false }),
      (error: unknown) => live && setLoaded({ subscription: null, error: toSDKError(error), loading: false }),
    );
    // Back from the portal (popup or tab): the plan may have changed.
    const onVisible = () => document.visibilityState === 'visible' && reload();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      live = false;
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [signedIn, payments, version, reload]);

  if (status === 'loading' || (signedIn && loaded.loading && !loaded.subscription && !loaded.error)) {
    return h('div', { className, 'data-state': 'loading', 'aria-busy': 'true' }, 'Loading your plan…');
  }
  if (!signedIn) {
    return h(
      'div',
      { className, 'data-state': 'signed_out' },
      h('p', null, 'Sign in to manage your plan.'),
      h('button', { type: 'button', onClick: () => void login().catch(() => undefined) }, 'Sign in'),
    );
  }
  const fail = (error: unknown) => {
    const sdkError = toSDKError(error);
    showError(sdkError);
    props.onError?.(sdkError);
  };
  const checkout = (plan: CreditPackage) => {
    setBusy(plan.id);
    payments.checkout(plan.id).then(
      () => payments.getSubscription().then((subscription) => {
        setLoaded({ subscription, error: null, loading: false });
        props.onChange?.(subscription);
      }),
      fail,
    ).finally(() => setBusy(null));
  };
  const portal = () => {
    setBusy('portal');
    payments.openBillingPortal(props.portalReturnUrl ? { returnUrl: props.portalReturnUrl } : {}).catch(fail).finally(() => setBusy(null));
  };

  const current = loaded.subscription;
  const plan = current?.plan ?? null;
  const plans = (catalogue.packages ?? []).filter((p) => p.type === 'subscription' && p.id !== current?.package_id);
  const offers = plan ? plans.filter((p) => p.price > plan.price) : plans;
  const ends = current?.current_period_end ? new Date(current.current_period_end).toLocaleDateString(props.locale) : null;
  return h(
    'section',
    { className, 'data-state': loaded.error ? 'error' : current ? 'subscribed' : 'none', 'aria-label': 'Subscription' },
    loaded.error
      ? h('p', { role: 'alert' }, 'Your plan could not be loaded. ', h('button', { type: 'button', onClick: reload }, 'Retry'))
      : current
        ? h(
            'div',
            null,
            h('p', null, 'Current plan: ', h('strong', null, plan?.name ?? current.package_id ?? 'Unknown plan'), plan ? ` · ${plan.credits} credits · ${formatPrice(plan, props.locale)}` : '', ` (${current.status})`),
            ends ? h('p', null, current.cancel_at_period_end ? `Ends on ${ends}.` : `Renews on ${ends}.`) : null,
            h('button', { type: 'button', onClick: portal, disabled: busy !== null }, busy === 'portal' ? 'Opening…' : 'Manage or cancel'),
          )
        : h('p', null, 'You have no plan.'),
    offers.length
      ? h(
          'ul',
          { style: { listStyle: 'none', padding: 0 } },
          offers.map((p) =>
            h(
              'li',
              { key: p.id },
              h(
                'button',
                { type: 'button', onClick: () => checkout(p), disabled: busy !== null },
                busy === p.id ? 'Waiting for payment…' : `${current ? 'Upgrade to' : 'Subscribe to'} ${p.name} · ${p.credits} credits · ${formatPrice(p, props.locale)}`,
              ),
            ),
          ),
        )
      : null,
  );
}
