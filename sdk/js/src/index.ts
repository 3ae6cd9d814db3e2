/** @streamline/cross-app-sdk: sign-in, credits and payments for partner web apps. */
export { CrossAppAuthSDK } from './auth/CrossAppAuthSDK';
export { completePopupLogin } from './auth/callback';
export type { AuthConfig, User, LoginOptions, LogoutOptions, RedirectResult } from './auth/types';
export { CreditSDK, type ConsumeOptions } from './credits/CreditSDK';
export { PaymentSDK } from './payments/PaymentSDK';
export type { PurchaseOptions, PurchaseResult } from './payments/hostedPurchase';
export { SDKError, InsufficientCreditsError, InsufficientScopeError, InsufficientUserAuthenticationError, SpendLimitReachedError, isSDKError } from './errors';
export type { ErrorCode, ClientErrorCode, ServerErrorCode } from './errors';
export { Emitter, type SDKEvents, type CreditsState } from './communication/events';
export { createEnvelope, parseEnvelope, ENVELOPE_VERSION, type Envelope } from './communication/postMessage';
export type { StorageMode } from './internal/storage';
export type * from './api/types';
