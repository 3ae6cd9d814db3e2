/**
 * Request/response types of the API, taken from the server's OpenAPI document
 * (schema.gen.ts, written by `npm run gen:api` from `python -m idp.openapi`; a unit test
 * fails when it drifts from the document).  Only names are given here.
 */
import type { components, operations } from './schema.gen';

type Schemas = components['schemas'];
type Json<Op extends keyof operations, Status extends number> = operations[Op]['responses'] extends Record<Status, { content: { 'application/json': infer Body } }> ? Body : never;

export type CreditPackage = Schemas['CreditPackage'];
export type CreditsResponse = Schemas['WalletCredits'];
/** `{ balance, held, available }`: what the wallet holds, what holds reserve, what can be spent. */
export type CreditSummary = Pick<CreditsResponse, 'balance' | 'held' | 'available'>;
export type CreditCheckResponse = Schemas['WalletCreditCheck'];
export type Transaction = Schemas['WalletTransaction'];
export type ConsumeResponse = Schemas['WalletConsumption'];
export type PackagesResponse = Json<'listCreditPackages', 200>;
export type TransactionsResponse = Json<'listTransactions', 200>;
export type PortalResponse = Json<'createBillingPortalSession', 200>;
export type SubscriptionInfo = Schemas['Subscription'];
export type SubscriptionResponse = Json<'getSubscription', 200>;
export type TokenResponse = Schemas['TokenResponse'];
export type ServerMetadata = Schemas['ServerMetadata'];
/** The body of every error answer: `{ error, error_description }` (plus members some codes add). */
export type ErrorBody = Schemas['Error'];
