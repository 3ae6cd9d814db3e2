/** The seed's direct credit purchase: the balance, the packs with their prices, and "Buy". */
import { createElement as h, useState, type ReactNode } from 'react';
import type { CreditPackage } from '../api/types';
import type { SDKError } from '../errors';
import type { PurchaseResult } from '../payments/hostedPurchase';
import { toSDKError, useAuth, useCredits, type AuthStatus } from './context';
import { formatPrice, usePackages, type UsePackagesResult } from './packages';

export interface CreditPurchaseProps {
  /** The packs to offer; fetched from the catalogue when omitted. */
  packages?: CreditPackage[];
  /** `one_time` (default): packs only; `all`: plans too. */
  show?: 'one_time' | 'all';
  /** Credits the next action costs: below it, the component says how many are missing. */
  required?: number;
  /** Offer "Other amount" (the hosted page with the amount to fill in; default true). */
  customAmount?: boolean;
  locale?: string;
  onPurchased?: (result: PurchaseResult) => void;
  /** Also shown in the provider's modal (a cancelled purchase is not). */
  onError?: (error: SDKError) => void;
  className?: string;
}

/** Packs with prices, each bought in the hosted popup (opened in the click); the live balance. */
export function CreditPurchase(props: CreditPurchaseProps): ReactNode {
  const { status } = useAuth();
  const { balance, purchase } = useCredits();
  const catalogue = usePackages(props.packages);
  const [buying, setBuying] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const className = props.className ?? 'cas-purchase';

  if (status !== 'signed_in') return h(SignedOut, { className, status, text: 'Sign in to buy credits.' });
  const buy = (id: string, item?: { packageId: string }) => {
    setBuying(id);
    setNotice('');
    purchase(item).then(
      (result) => {
        setNotice(`Added. Your balance is now ${result.available} credits.`);
        props.onPurchased?.(result);
      },
      (failure: unknown) => props.onError?.(toSDKError(failure)),
    ).finally(() => setBuying(null));
  };
  const available = balance?.available;
  const short = props.required !== undefined && available !== undefined && available < props.required ? props.required - available : 0;
  return h(
    'section',
    { className, 'data-state': short ? 'insufficient' : 'signed_in', 'aria-label': 'Buy credits' },
    h('p', { className: 'cas-balance', 'aria-live': 'polite' }, available === undefined ? 'Balance: …' : `Balance: ${available} credits`),
    short ? h('p', { className: 'cas-short', role: 'alert' }, `You need ${short} more credits for this.`) : null,
    h(PackageList, { ...catalogue, props, buying, buy }),
    h('p', { role: 'status', className: 'cas-notice' }, notice),
  );
}

interface PackageListProps extends UsePackagesResult {
  props: CreditPurchaseProps;
  buying: string | null;
  buy(id: string, item?: { packageId: string }): void;
}

function PackageList({ packages, error, retry, props, buying, buy }: PackageListProps): ReactNode {
  if (error) return h('p', { role: 'alert' }, 'The packages could not be loaded. ', h('button', { type: 'button', onClick: retry }, 'Retry'));
  if (packages === null) return h('p', { 'aria-busy': 'true' }, 'Loading packages…');
  const button = (id: string, label: string, name: string | undefined, item?: { packageId: string }) =>
    h('li', { key: id }, h('button', { type: 'button', disabled: buying !== null, onClick: () => buy(id, item), 'aria-label': name }, buying === id ? 'Waiting for payment…' : label));
  return h(
    'ul',
    { style: { listStyle: 'none', padding: 0 } },
    packages
      .filter((p) => props.show === 'all' || p.type === 'one_time')
      .map((p) => {
        const price = formatPrice(p, props.locale);
        return button(p.id, `${p.name} · ${p.credits} credits · ${price}`, `Buy ${p.name}: ${p.credits} credits for ${price}`, { packageId: p.id });
      }),
    props.customAmount === false ? null : button('', 'Other amount…', undefined),
  );
}

/** What a component shows before start-up ends, and to nobody signed in. */
export function SignedOut({ className, status, text, loading }: { className: string; status: AuthStatus; text: string; loading?: string }): ReactNode {
  const { login } = useAuth();
  if (status === 'loading') return h('div', { className, 'data-state': 'loading', 'aria-busy': 'true' }, loading ?? 'Loading…');
  return h(
    'div',
    { className, 'data-state': 'signed_out' },
    h('p', null, text),
    h('button', { type: 'button', onClick: () => void login().catch(() => undefined) }, 'Sign in'),
  );
}
