/** The catalogue, fetched once per provider, and how its prices read. */
import { useCallback, useEffect, useState } from 'react';
import type { CreditPackage, PackagesResponse } from '../api/types';
import type { CreditSDK } from '../credits/CreditSDK';
import type { SDKError } from '../errors';
import { toSDKError, useCrossApp } from './context';

const cache = new WeakMap<CreditSDK, Promise<CreditPackage[]>>();

export interface UsePackagesResult {
  packages: CreditPackage[] | null;
  error: SDKError | null;
  retry(): void;
}

const PATH = '/api/cross-app/credits/packages';

/**
 * The packs and plans on sale; `given` skips the fetch.  Public, but the IdP answers a
 * browser on another origin (CORS) only for a registered app, which a bearer token
 * names: the catalogue is read with the token, once someone is signed in.
 */
export function usePackages(given?: CreditPackage[]): UsePackagesResult {
  const { credits, auth, status } = useCrossApp();
  const signedIn = status === 'signed_in';
  const [state, setState] = useState<{ packages: CreditPackage[] | null; error: SDKError | null }>({ packages: given ?? null, error: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (given) return setState({ packages: given, error: null });
    if (!signedIn) return;
    setState((s) => (s.error ? { packages: null, error: null } : s));
    let live = true;
    let flight = cache.get(credits);
    if (!flight) {
      flight = auth.apiRequest<PackagesResponse>(PATH).then((body) => body.packages);
      cache.set(credits, flight);
      flight.catch(() => cache.delete(credits)); // the next attempt asks again
    }
    flight.then(
      (packages) => live && setState({ packages, error: null }),
      (error: unknown) => live && setState({ packages: null, error: toSDKError(error) }),
    );
    return () => {
      live = false;
    };
  }, [credits, auth, given, attempt, signedIn]);
  const retry = useCallback(() => {
    setState({ packages: null, error: null });
    setAttempt((n) => n + 1);
  }, []);
  return { ...state, retry };
}

/** A price in minor units as the locale writes it: `$5.00`, `¥500`. */
export function formatPrice(pkg: Pick<CreditPackage, 'price' | 'currency' | 'interval'>, locale?: string): string {
  let text: string;
  try {
    const format = new Intl.NumberFormat(locale, { style: 'currency', currency: pkg.currency.toUpperCase() });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    text = format.format(pkg.price / 10 ** digits);
  } catch {
    text = `${(pkg.price / 100).toFixed(2)} ${pkg.currency.toUpperCase()}`;
  }
  return pkg.interval ? `${text}/${pkg.interval}` : text;
}
