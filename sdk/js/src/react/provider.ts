/**
 * The provider.  One SDK per provider, created during render (its constructor touches
 * nothing of the browser, so server rendering is safe) and started in an effect.
 * StrictMode's mount-unmount-mount and hot reload keep that instance: a cleanup only
 * schedules `dispose()`, and the next mount cancels it; every listener is removed in the
 * cleanup that matches the effect that added it.
 */
import { createElement, useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { REDIRECT_STATE_PREFIX } from '../auth/callback';
import { CrossAppAuthSDK } from '../auth/CrossAppAuthSDK';
import type { AuthConfig, RedirectResult } from '../auth/types';
import type { CreditsState } from '../communication/events';
import { CreditSDK } from '../credits/CreditSDK';
import { SDKError } from '../errors';
import { PaymentSDK } from '../payments/PaymentSDK';
import { CrossAppContext, QUIET, toSDKError, type CrossAppContextValue, type SessionState, type ShownError } from './context';
import { ErrorModal, type ErrorModalAction } from './ErrorModal';

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

type SetState = (update: (state: SessionState) => SessionState) => void;

/** Makes the SDK available to `useAuth`, `useCredits` and the components. */
export function CrossAppProvider(props: CrossAppProviderProps): ReactNode {
  const { errorModal = true, refetchOnFocus = true, handleRedirect = true, children } = props;
  const auth = useSdk(props.config, props.sdk);
  const services = useMemo(() => ({ credits: new CreditSDK(auth), payments: new PaymentSDK(auth) }), [auth]);
  const [state, setState] = useState<SessionState>({ status: 'loading', user: null, balance: null, balanceLoading: false, balanceError: null });
  const { shown, showError, clearError } = useShownError(props.onError);
  const onRedirect = useLatest(props.onRedirectCallback);
  const report = useLatest(showError);
  useSession(auth, !props.sdk, handleRedirect, setState, onRedirect, report);
  const refreshBalance = useBalanceRefresh(services.credits, setState);
  useOnVisible(state.status === 'signed_in' && refetchOnFocus, refreshBalance);

  const value = useMemo<CrossAppContextValue>(
    () => ({ ...state, auth, ...services, refreshBalance, showError, clearError, shown }),
    [state, auth, services, refreshBalance, showError, clearError, shown],
  );
  const modal = errorModal && shown
    ? createElement(ErrorModal, { error: shown.error, action: shown.action && closing(shown.action, clearError, showError), onClose: clearError })
    : null;
  return createElement(CrossAppContext.Provider, { value }, children, modal);
}

/** The app's SDK, or one made from `config`, made again only when its values change. */
function useSdk(config: AuthConfig | undefined, sdk: CrossAppAuthSDK | undefined): CrossAppAuthSDK {
  const key = config ? JSON.stringify(config) : '';
  return useMemo(() => {
    if (sdk) return sdk;
    if (!config) throw new SDKError('invalid_request', 'CrossAppProvider needs config or sdk');
    return new CrossAppAuthSDK(config);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the config's values, not its identity
  }, [sdk, key]);
}

function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}

/** Follow sign-in and sign-out and the balance events; start up (completing a redirect answer first). */
function useSession(
  auth: CrossAppAuthSDK,
  owned: boolean,
  handleRedirect: boolean,
  setState: SetState,
  onRedirect: { readonly current: ((result: RedirectResult) => void) | undefined },
  report: { readonly current: (error: unknown) => void },
): void {
  const pendingDispose = useRef(new Map<CrossAppAuthSDK, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const pending = pendingDispose.current;
    clearTimeout(pending.get(auth));
    pending.delete(auth);
    let live = true;
    const set = (patch: (s: SessionState) => Partial<SessionState>) => live && setState((s) => ({ ...s, ...patch(s) }));
    const offs = [
      auth.onAuthChange((user) =>
        // Someone else (or nobody): the balance shown was not theirs.
        set((s) => ({ user, status: user ? 'signed_in' : 'signed_out', ...(s.user?.sub === user?.sub ? {} : { balance: null, balanceError: null }) })),
      ),
      auth.on('creditsChanged', (balance) => set(() => ({ balance, balanceError: null }))),
    ];
    const redirect = handleRedirect ? completeRedirect(auth) : null;
    redirect?.then(
      (result) => live && onRedirect.current?.(result),
      (error: unknown) => live && report.current(error),
    );
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
      // Disposed only if no mount follows at once (StrictMode and hot reload re-mount at once).
      if (owned) pending.set(auth, setTimeout(() => (pending.delete(auth), auth.dispose()), 0));
    };
  }, [auth, owned, handleRedirect, setState, onRedirect, report]);
}

/** Read the balance (single-flight: however many components ask); the creditsChanged event stores it. */
function useBalanceRefresh(credits: CreditSDK, setState: SetState): () => Promise<CreditsState | null> {
  const flight = useRef<Promise<CreditsState | null> | null>(null);
  return useCallback(() => {
    flight.current ??= (async () => {
      setState((s) => ({ ...s, balanceLoading: true }));
      try {
        const balance = await credits.getCreditBalance();
        setState((s) => ({ ...s, balanceLoading: false, balanceError: null }));
        return balance;
      } catch (error) {
        setState((s) => ({ ...s, balanceLoading: false, balanceError: toSDKError(error) }));
        return null;
      } finally {
        flight.current = null;
      }
    })();
    return flight.current;
  }, [credits, setState]);
}

/** Call `callback` when the tab becomes visible again (back from a popup, another tab, the portal). */
function useOnVisible(enabled: boolean, callback: () => unknown): void {
  useEffect(() => {
    if (!enabled) return;
    const onVisible = () => document.visibilityState === 'visible' && void callback();
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [enabled, callback]);
}

/** The error the modal shows; every error also goes to `onError`, the quiet ones only there. */
function useShownError(onError: ((error: SDKError) => void) | undefined) {
  const [shown, setShown] = useState<ShownError | null>(null);
  const latest = useLatest(onError);
  const showError = useCallback((error: unknown, action?: ErrorModalAction) => {
    const sdkError = toSDKError(error);
    latest.current?.(sdkError);
    if (!QUIET.has(sdkError.code)) setShown(action ? { error: sdkError, action } : { error: sdkError });
  }, [latest]);
  const clearError = useCallback(() => setShown(null), []);
  return { shown, showError, clearError };
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
