/**
 * Request/response types of the credit API, taken from the OpenAPI document
 * (`npm run gen:api` writes schema.gen.ts from `python -m idp.openapi`).
 */
export interface CreditSummary {
  balance: number;
  held: number;
  available: number;
}

export interface CreditPackage {
  id: string;
  name: string;
  credits: number;
  /** Minor units (cents). */
  price: number;
  currency: string;
  interval: 'month' | 'year' | null;
  type: 'one_time' | 'subscription';
}

export interface CreditsResponse extends CreditSummary {
  packages: CreditPackage[];
}

export interface PackagesResponse {
  packages: CreditPackage[];
}

export interface CreditCheckResponse extends CreditSummary {
  sufficient: boolean;
}

export interface Transaction {
  id: number;
  kind: string;
  amount: number;
  held_delta: number;
  balance_after: number;
  available_after: number;
  client_id: string | null;
  service: string | null;
  hold_id: string | null;
  reason: string | null;
  created_at: string;
}

export interface ConsumeResponse extends CreditSummary {
  transaction: Transaction;
  replayed: boolean;
}

export interface TransactionsResponse {
  transactions: Transaction[];
  next_before: number | null;
}

export interface PortalResponse {
  url: string;
}

export interface SubscriptionInfo {
  id: string;
  status: string;
  package_id: string | null;
  plan: CreditPackage | null;
  client_id: string | null;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
}

export interface SubscriptionResponse {
  subscription: SubscriptionInfo | null;
  subscriptions: SubscriptionInfo[];
}
