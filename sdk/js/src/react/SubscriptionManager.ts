/** The seed's subscription management: the current plan, subscribe or upgrade, cancel in the billing portal. */
import { createElement as h, useCallback, useEffect, useState, type ReactNode } from 'react';
import type { CreditPackage, SubscriptionInfo } from '../api/types';
import type { SDKError } from '../errors';
import type { PaymentSDK } from '../payments/PaymentSDK';
import { toSDKError, useAuth, useCrossApp } from './context';
import { SignedOut } from './CreditPurchase';
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

const LOADING = 'Loading your plan…';

interface Loaded {
  subscription: SubscriptionInfo | null;
  error: SDKError | null;
  loading: boolean;
}

/** The user's current subscription, read again on `reload()` and when the tab becomes visible (back from the portal). */
function useSubscription(payments: PaymentSDK, signedIn: boolean) {
  const [loaded, setLoaded] = useState<Loaded>({ subscription: null, error: null, loading: true });
  const [version, setVersion] = useState(0);
  const reload = useCallback(() => setVersion((n) => n + 1), []);
  useEffect(() => {
    if (!signedIn) return;
    let live = true;
    setLoaded((s) => ({ ...s, loading: true }));
    payments.getSubscription().then(
      (subscription) => live && setLoaded({ subscription, error: null, loading: false }),
      (error: unknown) => live && setLoaded({ subscription: null, error: toSDKError(error), loading: false }),
    );
    const onVisible = () => document.visibilityState === 'visible' && reload();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      live = false;
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [signedIn, payments, version, reload]);
  return { ...loaded, reload, set: (subscription: SubscriptionInfo | null) => setLoaded({ subscription, error: null, loading: false }) };
}

/** Shows the plan; "Subscribe" / "Upgrade" check out in the hosted popup; "Manage or cancel" opens the billing portal. */
export function SubscriptionManager(props: SubscriptionManagerProps): ReactNode {
  const { status } = useAuth();
  const { payments, showError } = useCrossApp();
  const catalogue = usePackages(props.plans);
  const current = useSubscription(payments, status === 'signed_in');
  const [busy, setBusy] = useState<string | null>(null);
  const className = props.className ?? 'cas-subscription';

  if (status !== 'signed_in') return h(SignedOut, { className, status, text: 'Sign in to manage your plan.', loading: LOADING });
  if (current.loading && !current.subscription && !current.error) return h('div', { className, 'data-state': 'loading', 'aria-busy': 'true' }, LOADING);
  const fail = (error: unknown) => {
    const sdkError = toSDKError(error);
    showError(sdkError);
    props.onError?.(sdkError);
  };
  const checkout = (plan: CreditPackage) => {
    setBusy(plan.id);
    payments.checkout(plan.id).then(
      () => payments.getSubscription().then((subscription) => (current.set(subscription), props.onChange?.(subscription))),
      fail,
    ).finally(() => setBusy(null));
  };
  const portal = () => {
    setBusy('portal');
    payments.openBillingPortal(props.portalReturnUrl ? { returnUrl: props.portalReturnUrl } : {}).catch(fail).finally(() => setBusy(null));
  };
  const sub = current.subscription;
  const plans = (catalogue.packages ?? []).filter((p) => p.type === 'subscription' && p.id !== sub?.package_id);
  return h(
    'section',
    { className, 'data-state': current.error ? 'error' : sub ? 'subscribed' : 'none', 'aria-label': 'Subscription' },
    current.error
      ? h('p', { role: 'alert' }, 'Your plan could not be loaded. ', h('button', { type: 'button', onClick: current.reload }, 'Retry'))
      : sub
        ? h(CurrentPlan, { sub, locale: props.locale, busy, portal })
        : h('p', null, 'You have no plan.'),
    h(PlanOffers, { plans: sub?.plan ? plans.filter((p) => p.price > sub.plan!.price) : plans, upgrade: sub !== null, locale: props.locale, busy, checkout }),
  );
}

interface CurrentPlanProps {
  sub: SubscriptionInfo;
  locale: string | undefined;
  busy: string | null;
  portal(): void;
}

function CurrentPlan({ sub, locale, busy, portal }: CurrentPlanProps): ReactNode {
  const plan = sub.plan;
  const ends = sub.current_period_end ? new Date(sub.current_period_end).toLocaleDateString(locale) : null;
  return h(
    'div',
    null,
    h('p', null, 'Current plan: ', h('strong', null, plan?.name ?? sub.package_id ?? 'Unknown plan'), plan ? ` · ${plan.credits} credits · ${formatPrice(plan, locale)}` : '', ` (${sub.status})`),
    ends ? h('p', null, sub.cancel_at_period_end ? `Ends on ${ends}.` : `Renews on ${ends}.`) : null,
    h('button', { type: 'button', onClick: portal, disabled: busy !== null }, busy === 'portal' ? 'Opening…' : 'Manage or cancel'),
  );
}

interface PlanOffersProps {
  plans: CreditPackage[];
  upgrade: boolean;
  locale: string | undefined;
  busy: string | null;
  checkout(plan: CreditPackage): void;
}

function PlanOffers({ plans, upgrade, locale, busy, checkout }: PlanOffersProps): ReactNode {
  if (!plans.length) return null;
  const label = (p: CreditPackage) => `${upgrade ? 'Upgrade to' : 'Subscribe to'} ${p.name} · ${p.credits} credits · ${formatPrice(p, locale)}`;
  return h(
    'ul',
    { style: { listStyle: 'none', padding: 0 } },
    plans.map((p) =>
      h('li', { key: p.id }, h('button', { type: 'button', onClick: () => checkout(p), disabled: busy !== null }, busy === p.id ? 'Waiting for payment…' : label(p))),
    ),
  );
}
