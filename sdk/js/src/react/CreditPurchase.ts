/** The seed's direct credit purchase: the balance, the packs with their prices, and "Buy". */
import { createElement as h, useState, type ReactNode } from 'react';
import type { CreditPackage } from '../api/types';
import type { SDKError } from '../errors';
import type { PurchaseResult } from '../payments/hostedPurchase';
import { toSDKError, useAuth, useCredits } from './context';
import { formatPrice, usePackages } from './packages';

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
  const { status, login } = useAuth();
  const { balance, purchase } = useCredits();
  const { packages, error, retry } = usePackages(props.packages);
  const [buying, setBuying] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  const className = props.className ?? 'cas-purchase';

  if (status === 'loading') return h('div', { className, 'data-state': 'loading', 'aria-busy': 'true' }, 'Loading…');
  if (status === 'signed_out') {
    return h(
      'div',
      { className, 'data-state': 'signed_out' },
      h('p', null, 'Sign in to buy credits.'),
      h('button', { type: 'button', onClick: () => void login().catch(() => undefined) }, 'Sign in'),
    );
  }
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
  const offered = (packages ?? []).filter((p) => props.show === 'all' || p.type === 'one_time');
  return h(
    'section',
    { className, 'data-state': short ? 'insufficient' : 'signed_in', 'aria-label': 'Buy credits' },
    h('p', { className: 'cas-balance', 'aria-live': 'polite' }, available === undefined ? 'Balance: …' : `Balance: ${available} credits`),
    short ? h('p', { className: 'cas-short', role: 'alert' }, `You need ${short} more credits for this.`) : null,
    error
      ? h('p', { role: 'alert' }, 'The packages could not be loaded. ', h('button', { type: 'button', onClick: retry }, 'Retry'))
      : packages === null
        ? h('p', { 'aria-busy': 'true' }, 'Loading packages…')
        : h(
            'ul',
            { style: { listStyle: 'none', padding: 0 } },
            offered.map((p) =>
              h(
                'li',
                { key: p.id },
                h(
                  'button',
                  { type: 'button', disabled: buying !== null, onClick: () => buy(p.id, { packageId: p.id }), 'aria-label': `Buy ${p.name}: ${p.credits} credits for ${formatPrice(p, props.locale)}` },
                  buying === p.id ? 'Waiting for payment…' : `${p.name} · ${p.credits} credits · ${formatPrice(p, props.locale)}`,
                ),
              ),
            ),
            props.customAmount === false
              ? null
              : h('li', { key: '' }, h('button', { type: 'button', disabled: buying !== null, onClick: () => buy('') }, buying === '' ? 'Waiting for payment…' : 'Other amount…')),
          ),
    h('p', { role: 'status', className: 'cas-notice' }, notice),
  );
}
