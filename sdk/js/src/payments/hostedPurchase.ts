/**
 * The hosted purchase page in a popup: opened synchronously, it reports its outcome by
 * postMessage from the IdP's origin (target origin: this app's registered origin) in the
 * SDK's envelope, once the wallet is credited or the purchase cancelled, then closes.
 */
import type { CrossAppAuthSDK } from '../auth/CrossAppAuthSDK';
import { closePopup, isClosed, openPopup } from '../auth/popup';
import { inBrowser } from '../auth/CrossAppAuthSDK';
import { randomId, waitForMessage } from '../communication/postMessage';
import { SDKError } from '../errors';

export const PURCHASE_RESULT = 'cas:purchase:result';

export interface PurchaseOptions {
  /** A window the caller opened itself in the click handler. */
  popup?: Window | null;
  /** Default 15 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface PurchaseResult {
  status: 'credited';
  checkoutId: string | undefined;
  balance: number;
  held: number;
  available: number;
}

interface PurchasePayload {
  status: 'credited' | 'cancelled' | 'failed';
  checkout_id?: string;
  balance?: number;
  held?: number;
  available?: number;
}

/** Open the hosted purchase page now (synchronously) and settle with its outcome. */
export function purchaseInPopup(
  auth: CrossAppAuthSDK,
  item: { packageId?: string; amount?: number },
  options: PurchaseOptions = {},
): Promise<PurchaseResult> {
  if (!inBrowser()) return Promise.reject(new SDKError('not_in_browser', 'purchases need a browser window'));
  const popup = options.popup ?? openPopup(`cas-purchase-${auth.config.appId}`, { width: 520, height: 760 });
  if (!popup) return Promise.reject(new SDKError('popup_blocked', 'the browser blocked the purchase popup'));
  const state = randomId(16);
  const url = new URL(`${auth.config.issuer}/purchase`);
  url.searchParams.set('client_id', auth.config.appId);
  url.searchParams.set('mode', 'popup');
  url.searchParams.set('state', state);
  url.searchParams.set('origin', window.location.origin);
  if (item.packageId) url.searchParams.set('package_id', item.packageId);
  if (item.amount !== undefined) url.searchParams.set('amount', String(item.amount));
  popup.location.href = url.toString();
  return waitForMessage({
    window,
    origins: [new URL(auth.config.issuer).origin],
    source: () => popup,
    types: [PURCHASE_RESULT],
    state,
    timeoutMs: options.timeoutMs ?? 900_000,
    ...(options.signal ? { signal: options.signal } : {}),
    closed: () => isClosed(popup),
  }).then(
    (envelope) => {
      closePopup(popup);
      const payload = envelope.payload as PurchasePayload;
      if (payload.status !== 'credited') {
        throw new SDKError(payload.status === 'failed' ? 'payment_failed' : 'purchase_cancelled', `the purchase was ${payload.status}`);
      }
      const result: PurchaseResult = {
        status: 'credited',
        checkoutId: payload.checkout_id,
        balance: Number(payload.balance ?? 0),
        held: Number(payload.held ?? 0),
        available: Number(payload.available ?? 0),
      };
      auth.events.emit('creditsChanged', { balance: result.balance, held: result.held, available: result.available });
      return result;
    },
    (error) => {
      closePopup(popup);
      throw error;
    },
  );
}
