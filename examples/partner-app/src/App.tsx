// Acme Studio: a partner's app. Sign in with the IdP (popup), see the balance, spend
// credits through our own back end, buy more, manage the plan, sign out.
import { useCallback, useEffect, useState } from 'react';
import { isSDKError, type CreditPackage, type SubscriptionInfo, type User } from '@streamline/cross-app-sdk';
import { generate } from './api';
import type { Sdk } from './config';
import { ErrorModal } from './ErrorModal';

type Problem = { code: string; message: string; available?: number };

function problemOf(error: unknown): Problem | null {
  if (!isSDKError(error)) return { code: 'error', message: String(error) };
  // Closing a popup is the user's choice, not an error to show.
  if (error.code === 'popup_closed' || error.code === 'purchase_cancelled') return null;
  const available = typeof error.details.available === 'number' ? error.details.available : undefined;
  return { code: error.code, message: error.description ?? error.message, available };
}

export function App({ sdk }: { sdk: Sdk }) {
  const { auth, credits, payments } = sdk;
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [balance, setBalance] = useState<number | null>(null);
  const [packages, setPackages] = useState<CreditPackage[]>([]);
  const [plan, setPlan] = useState<SubscriptionInfo | null | undefined>(undefined);
  const [output, setOutput] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const fail = useCallback((error: unknown) => setProblem(problemOf(error)), []);

  useEffect(() => {
    const stop = [
      auth.onAuthChange(setUser),
      auth.on('creditsChanged', (state) => setBalance(state.available)),
    ];
    auth.getCurrentUser().then(setUser, fail);
    return () => stop.forEach((unsubscribe) => unsubscribe());
  }, [auth, fail]);

  // Read once signed in, with the token: the IdP answers another origin's API calls
  // (CORS) only for the app a bearer token names.
  const reload = useCallback(() => {
    credits.getCreditPackages().then(setPackages, fail);
    credits.getCreditBalance().then((state) => setBalance(state.available), fail);
    payments.getSubscription().then(setPlan, fail);
  }, [credits, payments, fail]);
  useEffect(() => {
    if (user) reload();
    else setBalance(null);
  }, [user, reload]);

  // The SDK is called straight from each click: the popup opens before anything is awaited.
  const signIn = () => auth.login().catch(fail);
  const signUp = () => auth.login({ screen: 'signup', next: 'purchase' }).then(reload, fail);
  const buy = (id: string) => credits.purchaseCredits({ packageId: id }).then((r) => setBalance(r.available), fail);
  const subscribe = (id: string) => payments.checkout(id).then(reload, fail);
  const manage = () => payments.openBillingPortal({ redirect: true }).catch(fail);
  const spend = () =>
    generate(auth).then((r) => {
      setOutput(r.output);
      setBalance(r.available);
    }, fail);

  if (user === undefined) return <main className="card"><p>Loading…</p></main>;
  const packs = packages.filter((p) => p.type === 'one_time');
  const plans = packages.filter((p) => p.type === 'subscription');
  const price = (p: CreditPackage) => `${(p.price / 100).toFixed(2)} ${p.currency.toUpperCase()}`;
  return (
    <main className="card">
      <header>
        <h1>Acme Studio</h1>
        {user && <button onClick={() => auth.logout().catch(fail)}>Sign out</button>}
      </header>
      {!user ? (
        <section aria-label="Sign in">
          <p>Sign in with your Streamline account to use your credits here.</p>
          <button onClick={signIn}>Sign in</button> <button onClick={signUp}>Create account</button>
        </section>
      ) : (
        <>
          <p data-testid="user">Signed in as {user.name ? `${user.name} (${user.email})` : user.email}</p>
          <p data-testid="balance" aria-live="polite">{balance === null ? 'Balance: …' : `Balance: ${balance} credits`}</p>
          <section aria-label="Generate">
            <button onClick={spend}>Generate (costs 10 credits)</button>
            {output && <p data-testid="output">{output}</p>}
          </section>
          <section aria-label="Buy credits">
            <h2>Buy credits</h2>
            <ul>
              {packs.map((p) => (
                <li key={p.id}>
                  {p.name}: {p.credits} credits for {price(p)} <button onClick={() => buy(p.id)}>Buy {p.name}</button>
                </li>
              ))}
            </ul>
          </section>
          <section aria-label="Subscription">
            <h2>Subscription</h2>
            {plan === undefined ? <p>…</p> : plan ? (
              <p data-testid="plan">
                Your plan: {plan.plan?.name ?? plan.package_id} ({plan.status}
                {plan.current_period_end ? `, renews ${new Date(plan.current_period_end).toLocaleDateString()}` : ''})
                {' '}<button onClick={manage}>Manage or cancel</button>
              </p>
            ) : (
              <ul>
                {plans.map((p) => (
                  <li key={p.id}>
                    {p.name}: {p.credits} credits a {p.interval} for {price(p)} <button onClick={() => subscribe(p.id)}>Subscribe to {p.name}</button>
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
      {problem && (
        <ErrorModal
          title={problem.code === 'insufficient_credits' ? 'Not enough credits' : 'Something went wrong'}
          onClose={() => setProblem(null)}
          actions={problem.code === 'insufficient_credits' && packs[0] ? (
            <button onClick={() => { setProblem(null); buy(packs[0]!.id); }}>Buy {packs[0].name}</button>
          ) : undefined}
        >
          {problem.code === 'insufficient_credits'
            ? <p>This costs 10 credits; you have {problem.available ?? 0}.</p>
            : <p>{problem.message} ({problem.code})</p>}
        </ErrorModal>
      )}
    </main>
  );
}
