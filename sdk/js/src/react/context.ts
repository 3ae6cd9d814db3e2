/** The provider's context, the hooks on it, and how any rejection becomes an SDKError. */
import { createContext, useCallback, useContext, useEffect } from 'react';
import { asSDKError, type CrossAppAuthSDK } from '../auth/CrossAppAuthSDK';
import type { LoginOptions, LogoutOptions, User } from '../auth/types';
import type { CreditsState } from '../communication/events';
import type { CreditSDK, ConsumeOptions } from '../credits/CreditSDK';
import { InsufficientUserAuthenticationError, SDKError, fromServer } from '../errors';
import type { PaymentSDK } from '../payments/PaymentSDK';
import type { PurchaseOptions, PurchaseResult } from '../payments/hostedPurchase';
import type { ConsumeResponse } from '../api/types';
import type { ErrorModalAction } from './ErrorModal';

export type AuthStatus = 'loading' | 'signed_out' | 'signed_in';

export interface SessionState {
  status: AuthStatus;
  user: User | null;
  balance: CreditsState | null;
  balanceLoading: boolean;
  balanceError: SDKError | null;
}

/** An error the modal shows, with an optional action (e.g. "Buy credits"). */
export interface ShownError {
  error: SDKError;
  action?: ErrorModalAction;
}

export interface CrossAppContextValue extends SessionState {
  auth: CrossAppAuthSDK;
  credits: CreditSDK;
  payments: PaymentSDK;
  refreshBalance(): Promise<CreditsState | null>;
  showError(error: unknown, action?: ErrorModalAction): void;
  clearError(): void;
  shown: ShownError | null;
}

export const CrossAppContext = createContext<CrossAppContextValue | null>(null);

/** Codes that are the user's own choice: reported to `onError`, never shown in the modal. */
export const QUIET = new Set(['popup_closed', 'purchase_cancelled', 'aborted']);

/** Any rejection as an SDKError; a server error body (`{ error, error_description }`) too. */
export function toSDKError(error: unknown): SDKError {
  if (error instanceof SDKError) return error;
  if (error && typeof error === 'object' && typeof (error as { error?: unknown }).error === 'string') {
    const status = (error as { status?: unknown }).status;
    return fromServer(typeof status === 'number' ? status : 400, error);
  }
  return asSDKError(error);
}

/** The provider's value; throws outside a `CrossAppProvider`. */
export function useCrossApp(): CrossAppContextValue {
  const value = useContext(CrossAppContext);
  if (!value) throw new SDKError('invalid_request', 'wrap the app in <CrossAppProvider>');
  return value;
}

export interface UseAuthResult {
  status: AuthStatus;
  isLoading: boolean;
  isAuthenticated: boolean;
  user: User | null;
  /** Sign in (call from the click handler: the popup opens synchronously). Errors go to the modal and reject. */
  login(options?: LoginOptions): Promise<User | null>;
  logout(options?: LogoutOptions): Promise<void>;
  getAccessToken(): Promise<string>;
  auth: CrossAppAuthSDK;
}

/** Who is signed in, and sign-in / sign-out. */
export function useAuth(): UseAuthResult {
  const { status, user, auth, showError } = useCrossApp();
  const login = useCallback(
    (options?: LoginOptions) =>
      auth.login(options).catch((error: unknown) => {
        showError(error);
        throw toSDKError(error);
      }),
    [auth, showError],
  );
  const logout = useCallback((options?: LogoutOptions) => auth.logout(options), [auth]);
  const getAccessToken = useCallback(() => auth.getAccessToken(), [auth]);
  return { status, isLoading: status === 'loading', isAuthenticated: status === 'signed_in', user, login, logout, getAccessToken, auth };
}

export interface UseCreditsResult {
  /** `{ balance, held, available }`, kept current by every SDK call; null until loaded or signed out. */
  balance: CreditsState | null;
  isLoading: boolean;
  error: SDKError | null;
  /** Fetch the balance again (e.g. after your back end spent credits). */
  refresh(): Promise<CreditsState | null>;
  /** Spend credits; an InsufficientCreditsError opens the modal with "Buy credits", then rejects. */
  consume(amount: number, service: string, options?: ConsumeOptions): Promise<ConsumeResponse>;
  /** Buy credits in the hosted popup (call from the click handler). */
  purchase(item?: number | { packageId: string }, options?: PurchaseOptions): Promise<PurchaseResult>;
  hasSufficient(required: number): Promise<boolean>;
  credits: CreditSDK;
}

/** The live balance and the credit actions; loads the balance once someone is signed in. */
export function useCredits(): UseCreditsResult {
  const context = useCrossApp();
  const { status, balance, balanceLoading, balanceError, credits, refreshBalance, showError, auth } = context;
  const needsBalance = status === 'signed_in' && balance === null && balanceError === null;
  useEffect(() => {
    if (needsBalance) void refreshBalance();
  }, [needsBalance, refreshBalance]);
  const purchase = useCallback(
    (item?: number | { packageId: string }, options?: PurchaseOptions) =>
      purchaseItem(credits, item, options).catch((error: unknown) => {
        showError(error);
        throw toSDKError(error);
      }),
    [credits, showError],
  );
  const consume = useCallback(
    (amount: number, service: string, options?: ConsumeOptions) =>
      credits.consumeCredits(amount, service, options).catch((error: unknown) => {
        const sdkError = toSDKError(error);
        showError(sdkError, actionFor(sdkError, credits, auth));
        throw sdkError;
      }),
    [credits, showError, auth],
  );
  const hasSufficient = useCallback((required: number) => credits.hasSufficientCredits(required), [credits]);
  return {
    balance,
    isLoading: status === 'loading' || needsBalance || balanceLoading,
    error: balanceError,
    refresh: refreshBalance,
    consume,
    purchase,
    hasSufficient,
    credits,
  };
}

/** Report an error to the provider's modal yourself (e.g. a 402 from your own back end). */
export function useErrorModal(): { showError(error: unknown, action?: ErrorModalAction): void; clearError(): void } {
  const { showError, clearError } = useCrossApp();
  return { showError, clearError };
}

export function purchaseItem(credits: CreditSDK, item: number | { packageId: string } | undefined, options?: PurchaseOptions): Promise<PurchaseResult> {
  // No item: the hosted page with its whole catalogue.
  return item === undefined ? credits.purchaseCredits({ packageId: '' }, options) : credits.purchaseCredits(item, options);
}

/** The modal's way out of a refusal: "Buy credits", or signing in again for a step-up. */
function actionFor(error: SDKError, credits: CreditSDK, auth: CrossAppAuthSDK): ErrorModalAction | undefined {
  if (error instanceof InsufficientUserAuthenticationError) return stepUpAction(auth, error);
  return error.code === 'insufficient_credits' ? buyAction(credits) : undefined;
}

/** The modal's "Confirm it's you" for a step-up challenge (opens the sign-in popup in the click). */
export function stepUpAction(auth: CrossAppAuthSDK, error: InsufficientUserAuthenticationError): ErrorModalAction {
  return { label: "Confirm it's you", run: () => auth.stepUp(error).then(() => undefined) };
}

/** The modal's "Buy credits" for an insufficient-credits error (opens the popup in the click). */
export function buyAction(credits: CreditSDK, item?: number | { packageId: string }): ErrorModalAction {
  return { label: 'Buy credits', run: () => purchaseItem(credits, item).then(() => undefined) };
}
