/**
 * The provider and its hooks.  One SDK per provider, created during render (its
 * constructor touches nothing of the browser, so server rendering is safe) and started
 * in an effect.  StrictMode's mount-unmount-mount and hot reload keep that instance: a
 * cleanup only schedules `dispose()`, and the next mount cancels it; every listener is
 * removed in the cleanup that matches the effect that added it.
 */
import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { CrossAppAuthSDK, asSDKError } from '../auth/CrossAppAuthSDK';
import type { AuthConfig, LoginOptions, LogoutOptions, RedirectResult, User } from '../auth/types';
import { REDIRECT_STATE_PREFIX } from '../auth/callback';
import type { CreditsState } from '../communication/events';
import { CreditSDK, type ConsumeOptions } from '../credits/CreditSDK';
import { SDKError, fromServer, isSDKError } from '../errors';
import { PaymentSDK } from '../payments/PaymentSDK';
import type { PurchaseOptions, PurchaseResult } from '../payments/hostedPurchase';
import type { ConsumeResponse } from '../api/types';
import { ErrorModal, type ErrorModalAction } from './ErrorModal';

export type AuthStatus = 'loading' | 'signed_out' | 'signed_in';

interface State {
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

export interface CrossAppContextValue extends State {
  auth: CrossAppAuthSDK;
  credits: CreditSDK;
  payments: PaymentSDK;
  refreshBalance(): Promise<CreditsState | null>;
  showError(error: unknown, action?: ErrorModalAction): void;
  clearError(): void;
  shown: ShownError | null;
}

const CrossAppContext = createContext<CrossAppContextValue | null>(null);

export interface CrossAppProviderProps {
  /** The SDK's configuration (a new SDK is made when its values change), or ... */
  config?: AuthConfig;
  /** ... an SDK you made yourself (the provider never disposes it). */
  sdk?: CrossAppAuthSDK;
  /** Render the error modal for errors the components report (default true). */
  errorModal?: boolean;
  /** Refetch the balance when the tab becomes visible again (default true). */
  refetchOnFocus?: boolean;
  /**
   * Complete a redirect sign-in (a blocked popup's fallback, or `mode: 'redirect'`) when
   * this page is the answer (its `state` is a redirect's); default true.  Then called
   * with the result, e.g. to route to `returnTo`.
   */
  handleRedirect?: boolean;
  onRedirectCallback?: (result: RedirectResult) => void;
  /** Called with every error a component reports (also the quiet ones, like a closed popup). */
  onError?: (error: SDKError) => void;
  children?: ReactNode;
}

/** Codes that are the user's own choice: reported to `onError`, never shown in the modal. */
const QUIET = new Set(['popup_closed', 'purchase_cancelled', 'aborted']);

/** Any rejection as an SDKError; a server error body (`{ error, error_description }`) too. */
export function toSDKError(error: unknown): SDKError {
  if (error instanceof SDKError) return error;
  if (error && typeof error === 'object' && typeof (error as { error?: unknown }).error === 'string') {
    const status = (error as { status?: unknown }).status;
    return fromServer(typeof status === 'number' ? status : 400, error);
  }
  return asSDKError(error);
}

function configKey(config: AuthConfig | undefined): string {
  return config ? JSON.stringify(config) : '';
}

/** Makes the SDK available to `useAuth`, `useCredits` and the components. */
export function CrossAppProvider(props: CrossAppProviderProps): ReactNode {
  const { config, sdk, errorModal = true, refetchOnFocus = true, handleRedirect = true, onError, children } = props;
  const key = configKey(config);
  const auth = useMemo(() => {
    if (sdk) return sdk;
    if (!config) throw new SDKError('invalid_request', 'CrossAppProvider needs config or sdk');
    return new CrossAppAuthSDK(config);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the config's values, not its identity
  }, [sdk, key]);
  const services = useMemo(() => ({ credits: new CreditSDK(auth), payments: new PaymentSDK(auth) }), [auth]);
  const [state, setState] = useState<State>({ status: 'loading', user: null, balance: null, balanceLoading: false, balanceError: null });
  const [shown, setShown] = useState<ShownError | null>(null);
  const pendingDispose = useRef(new Map<CrossAppAuthSDK, ReturnType<typeof setTimeout>>());
  const balanceFlight = useRef<Promise<CreditsState | null> | null>(null);
  const onErrorRef = useRef(onError);
  onErrorRef.current = onError;
  const redirectRef = useRef(props.onRedirectCallback);
  redirectRef.current = props.onRedirectCallback;
  const showErrorRef = useRef<(error: unknown) => void>(() => undefined);

  useEffect(() => {
    const pending = pendingDispose.current;
    clearTimeout(pending.get(auth));
    pending.delete(auth);
    let live = true;
    const set = (patch: (s: State) => Partial<State>) => live && setState((s) => ({ ...s, ...patch(s) }));
    const offs = [
      auth.onAuthChange((user) =>
        // Someone else (or nobody): the balance shown was not theirs.
        set((s) => ({ user, status: user ? 'signed_in' : 'signed_out', ...(s.user?.sub === user?.sub ? {} : { balance: null, balanceError: null }) })),
      ),
      auth.on('creditsChanged', (balance) => set(() => ({ balance, balanceError: null }))),
    ];
    const redirect = handleRedirect ? completeRedirect(auth) : null;
    if (redirect) {
      redirect.then(
        (result) => live && redirectRef.current?.(result),
        (error: unknown) => live && showErrorRef.current(error),
      );
    }
    (redirect ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => auth.getCurrentUser())
      .then(
        (user) => set(() => ({ user, status: user ? 'signed_in' : 'signed_out' })),
        () => set(() => ({ user: null, status: 'signed_out' })),
      );
    return () => {
      live = false;
      for (const off of offs) off();
      // Disposed only if no mount follows at once (StrictMode, hot reload re-mount at once).
      if (!sdk) pending.set(auth, setTimeout(() => { pending.delete(auth); auth.dispose(); }, 0));
    };
  }, [auth, sdk, handleRedirect]);

  const refreshBalance = useCallback((): Promise<CreditsState | null> => {
    balanceFlight.current ??= (async () => {
      setState((s) => ({ ...s, balanceLoading: true }));
      try {
        const balance = await services.credits.getCreditBalance(); // the creditsChanged event stores it
        setState((s) => ({ ...s, balanceLoading: false, balanceError: null }));
        return balance;
      } catch (error) {
        setState((s) => ({ ...s, balanceLoading: false, balanceError: toSDKError(error) }));
        return null;
      } finally {
        balanceFlight.current = null;
      }
    })();
    return balanceFlight.current;
  }, [services]);

  const signedIn = state.status === 'signed_in';
  useEffect(() => {
    if (!signedIn || !refetchOnFocus) return;
    const onVisible = () => {
      if (document.visibilityState === 'visible') void refreshBalance();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [signedIn, refetchOnFocus, refreshBalance]);

  const showError = useCallback((error: unknown, action?: ErrorModalAction) => {
    const sdkError = toSDKError(error);
    onErrorRef.current?.(sdkError);
    if (!QUIET.has(sdkError.code)) setShown(action ? { error: sdkError, action } : { error: sdkError });
  }, []);
  const clearError = useCallback(() => setShown(null), []);
  showErrorRef.current = showError;

  const value = useMemo<CrossAppContextValue>(
    () => ({ ...state, auth, ...services, refreshBalance, showError, clearError, shown }),
    [state, auth, services, refreshBalance, showError, clearError, shown],
  );
  return createElement(
    CrossAppContext.Provider,
    { value },
    children,
    errorModal && shown ? createElement(ErrorModal, { error: shown.error, action: shown.action && closing(shown.action, clearError, showError), onClose: clearError }) : null,
  );
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
  const { status, balance, balanceLoading, balanceError, credits, refreshBalance, showError } = context;
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
        showError(sdkError, isSDKError(sdkError, 'insufficient_credits') ? buyAction(credits) : undefined);
        throw sdkError;
      }),
    [credits, showError],
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

/** The modal's "Buy credits" for an insufficient-credits error (opens the popup in the click). */
export function buyAction(credits: CreditSDK, item?: number | { packageId: string }): ErrorModalAction {
  return { label: 'Buy credits', run: () => purchaseItem(credits, item).then(() => undefined) };
}

const redirects = new WeakMap<CrossAppAuthSDK, Promise<RedirectResult>>();

/** This page's redirect answer, completed once per SDK (StrictMode runs effects twice); null when it is none. */
function completeRedirect(auth: CrossAppAuthSDK): Promise<RedirectResult> | null {
  const known = redirects.get(auth);
  if (known) return known;
  const params = new URLSearchParams(window.location.search);
  if (!params.get('state')?.startsWith(REDIRECT_STATE_PREFIX) || !(params.has('code') || params.has('error'))) return null;
  const flight = auth.handleRedirectCallback();
  redirects.set(auth, flight);
  return flight;
}

/** The modal's action: run in the click (a popup opens synchronously), close, report its failure. */
function closing(action: ErrorModalAction, close: () => void, report: (error: unknown) => void): ErrorModalAction {
  return {
    label: action.label,
    run: () => {
      let outcome: unknown;
      try {
        outcome = action.run();
      } catch (error) {
        outcome = Promise.reject(error);
      }
      close();
      Promise.resolve(outcome).catch(report);
    },
  };
}
