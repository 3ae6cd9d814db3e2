/** The credit wallet: balance, packages, spending (idempotent) and buying more. */
import type { CreditCheckResponse, CreditPackage, CreditSummary, CreditsResponse, ConsumeResponse, PackagesResponse, TransactionsResponse } from '../api/types';
import type { CrossAppAuthSDK } from '../auth/CrossAppAuthSDK';
import { randomId } from '../communication/postMessage';
import { SDKError } from '../errors';
import { purchaseInPopup, type PurchaseOptions, type PurchaseResult } from '../payments/hostedPurchase';

const BASE = '/api/cross-app';

export interface ConsumeOptions {
  /** Same key, same request: the server answers the first result again.  Generated when omitted. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export class CreditSDK {
  constructor(private readonly auth: CrossAppAuthSDK) {}

  /** `{ balance, held, available }` (needs `credits:read`). */
  async getCreditBalance(): Promise<CreditSummary> {
    const body = await this.auth.apiRequest<CreditsResponse>(`${BASE}/credits`);
    return this.changed(body);
  }

  /** The packs and plans on sale (public). */
  async getCreditPackages(): Promise<CreditPackage[]> {
    return (await this.auth.publicRequest<PackagesResponse>(`${BASE}/credits/packages`)).packages;
  }

  /** Whether `required` credits are available (needs `credits:read`). */
  async hasSufficientCredits(required: number): Promise<boolean> {
    positive(required, 'required');
    const body = await this.auth.apiRequest<CreditCheckResponse>(`${BASE}/credit-check`, json({ required }));
    return body.sufficient;
  }

  /**
   * Spend `amount` credits on `service` (needs `credits:consume`).  Retries reuse the
   * same idempotency key, so a retried request is never charged twice.  Rejects with
   * `InsufficientCreditsError` (402, with the balance) or `idempotency_key_reused` (409).
   */
  async consumeCredits(amount: number, service: string, options: ConsumeOptions = {}): Promise<ConsumeResponse> {
    positive(amount, 'amount');
    if (typeof service !== 'string' || !service) throw new SDKError('invalid_request', 'name the service the credits pay for');
    const idempotencyKey = options.idempotencyKey ?? `sdk-${randomId(16)}`;
    const init = json({ amount, service, idempotency_key: idempotencyKey });
    (init.headers as Record<string, string>)['Idempotency-Key'] = idempotencyKey;
    const body = await this.auth.apiRequest<ConsumeResponse>(`${BASE}/credits/consume`, init, options.signal ? { signal: options.signal } : {});
    this.changed(body);
    return body;
  }

  /**
   * Buy credits in the hosted purchase popup (opened synchronously: call from the click
   * handler): a number of credits, or `{ packageId }`.  Resolves once the wallet is
   * credited; rejects with `purchase_cancelled`, `popup_closed`, `popup_blocked` or `timeout`.
   */
  purchaseCredits(item: number | { packageId: string }, options: PurchaseOptions = {}): Promise<PurchaseResult> {
    if (typeof item === 'number') {
      if (!Number.isInteger(item) || item <= 0) return Promise.reject(new SDKError('invalid_request', 'amount must be a positive whole number'));
      return purchaseInPopup(this.auth, { amount: item }, options);
    }
    return purchaseInPopup(this.auth, { packageId: item.packageId }, options);
  }

  /** The ledger, newest first (`before`: the cursor of the previous page). */
  getTransactions(options: { before?: number; limit?: number; onlyThisApp?: boolean } = {}): Promise<TransactionsResponse> {
    const params = new URLSearchParams();
    if (options.before !== undefined) params.set('before', String(options.before));
    if (options.limit !== undefined) params.set('limit', String(options.limit));
    if (options.onlyThisApp) params.set('client_id', this.auth.config.appId);
    const query = params.toString();
    return this.auth.apiRequest<TransactionsResponse>(`${BASE}/credits/transactions${query ? `?${query}` : ''}`);
  }

  private changed(state: CreditSummary): CreditSummary {
    const summary = { balance: state.balance, held: state.held, available: state.available };
    this.auth.events.emit('creditsChanged', summary);
    return summary;
  }
}

function positive(value: number, name: string): void {
  if (!Number.isInteger(value) || value <= 0) throw new SDKError('invalid_request', `${name} must be a positive whole number`);
}

export function json(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}
