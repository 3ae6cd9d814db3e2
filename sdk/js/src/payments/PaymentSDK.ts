/** Payments: checkout of packs and plans, the billing portal, the current subscription. */
import type { PortalResponse, SubscriptionInfo, SubscriptionResponse } from '../api/types';
import type { CrossAppAuthSDK } from '../auth/CrossAppAuthSDK';
import { inBrowser } from '../auth/CrossAppAuthSDK';
import { closePopup, openPopup } from '../auth/popup';
import { json } from '../credits/CreditSDK';
import { SDKError } from '../errors';
import { purchaseInPopup, type PurchaseOptions, type PurchaseResult } from './hostedPurchase';

const BASE = '/api/cross-app';

export class PaymentSDK {
  constructor(private readonly auth: CrossAppAuthSDK) {}

  /** Check out a credit pack or a subscription plan in the hosted popup (call from the click handler). */
  checkout(packageId: string, options: PurchaseOptions = {}): Promise<PurchaseResult> {
    if (typeof packageId !== 'string' || !packageId) return Promise.reject(new SDKError('invalid_request', 'name the package or plan'));
    return purchaseInPopup(this.auth, { packageId }, options);
  }

  /**
   * Open the billing portal (manage or cancel a subscription; needs `credits:purchase`).
   * A popup is opened synchronously, then sent to the portal; with no popup (blocked,
   * or `{ redirect: true }`) this tab goes there and returns to `returnUrl`.
   */
  async openBillingPortal(options: { returnUrl?: string; redirect?: boolean } = {}): Promise<void> {
    if (!inBrowser()) throw new SDKError('not_in_browser', 'the billing portal needs a browser window');
    const popup = options.redirect ? null : openPopup(`cas-portal-${this.auth.config.appId}`, { width: 720, height: 800 });
    try {
      const { url } = await this.auth.apiRequest<PortalResponse>(
        `${BASE}/credits/portal`,
        json({ return_url: options.returnUrl ?? window.location.href }),
      );
      if (popup) popup.location.href = url;
      else window.location.assign(url);
    } catch (error) {
      closePopup(popup);
      throw error;
    }
  }

  /** The user's current subscription (not cancelled), or null (needs `credits:read`). */
  async getSubscription(): Promise<SubscriptionInfo | null> {
    return (await this.auth.apiRequest<SubscriptionResponse>(`${BASE}/subscription`)).subscription;
  }

  /** Every subscription of the user's wallet, newest first. */
  async listSubscriptions(): Promise<SubscriptionInfo[]> {
    return (await this.auth.apiRequest<SubscriptionResponse>(`${BASE}/subscription`)).subscriptions;
  }
}
