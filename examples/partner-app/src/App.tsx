// Acme Studio: a partner's app, built from the SDK's React components. Sign in with the
// IdP (popup), see the balance, spend credits through our own back end, buy more, manage
// the plan, sign out. Errors show in the provider's accessible modal, never alert().
import { useState } from 'react';
import {
  CreditPurchase,
  CrossAppLogin,
  SubscriptionManager,
  useAuth,
  useCredits,
  useErrorModal,
} from '@streamline/cross-app-sdk/react';
import { GENERATE_COST, generate } from './api';

export function App() {
  const { status, user, login } = useAuth();
  return (
    <main className="card">
      <header>
        <h1>Acme Studio</h1>
        {/* Sign-in (popup) and, once signed in, the user and "Sign out". */}
        <CrossAppLogin signup={false} />
      </header>
      {status === 'signed_out' && (
        <section aria-label="Welcome">
          <p>Sign in with your Streamline account to use your credits here.</p>
          {/* Sign-up, then the purchase page, before coming back here. */}
          <button type="button" onClick={() => login({ screen: 'signup', next: 'purchase' }).catch(() => undefined)}>
            Create account
          </button>
        </section>
      )}
      {status === 'signed_in' && user && (
        <>
          <p data-testid="user">Account: {user.email}</p>
          <Generate />
          <h2>Buy credits</h2>
          <CreditPurchase required={GENERATE_COST} />
          <h2>Your plan</h2>
          <Plan />
        </>
      )}
    </main>
  );
}

/** Our paid feature: the back end verifies the token and spends the credits. */
function Generate() {
  const { getAccessToken } = useAuth();
  const { refresh, purchase } = useCredits();
  const { showError } = useErrorModal();
  const [output, setOutput] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = () => {
    setBusy(true);
    generate(getAccessToken)
      .then((result) => {
        setOutput(result.output);
        return refresh();
      })
      .catch((error: { code?: string }) =>
        // Not enough credits: the modal offers the purchase popup (opened in its click).
        showError(error, error.code === 'insufficient_credits' ? { label: 'Buy credits', run: () => purchase() } : undefined),
      )
      .finally(() => setBusy(false));
  };
  return (
    <section aria-label="Generate">
      <button type="button" onClick={run} disabled={busy}>
        Generate (costs {GENERATE_COST} credits)
      </button>
      {output && <p data-testid="output">{output}</p>}
    </section>
  );
}

function Plan() {
  const { refresh } = useCredits();
  // A plan grants its credits at once: read the balance again.
  return <SubscriptionManager onChange={() => void refresh()} />;
}
