/**
 * `@streamline/cross-app-sdk/react`: a provider, two hooks and the seed's components
 * (CrossAppLogin, CreditPurchase, SubscriptionManager) with an accessible error modal.
 * Server-rendering safe: nothing touches `window` at import or during render.
 */
export { CrossAppProvider, type CrossAppProviderProps } from './react/provider';
export {
  useAuth,
  useCredits,
  useCrossApp,
  useErrorModal,
  toSDKError,
  type AuthStatus,
  type CrossAppContextValue,
  type UseAuthResult,
  type UseCreditsResult,
} from './react/context';
export { CrossAppLogin, type CrossAppLoginProps } from './react/CrossAppLogin';
export { ErrorModal, describeError, type ErrorModalProps, type ErrorModalAction } from './react/ErrorModal';
export { CreditPurchase, type CreditPurchaseProps } from './react/CreditPurchase';
export { SubscriptionManager, type SubscriptionManagerProps } from './react/SubscriptionManager';
export { usePackages, formatPrice, type UsePackagesResult } from './react/packages';
