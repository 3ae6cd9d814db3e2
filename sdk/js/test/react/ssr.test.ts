// @vitest-environment node
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

describe('server rendering (react-dom/server, no window)', () => {
  it('imports and renders every component to HTML without touching window', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    // Any access to window or document during render would throw a ReferenceError here.
    const { CrossAppProvider, CrossAppLogin, CreditPurchase, SubscriptionManager, ErrorModal, useAuth, useCredits } = await import('../../src/react');
    const { SDKError } = await import('../../src/errors');
    function Balance() {
      const { status } = useAuth();
      const { balance } = useCredits();
      return h('p', null, `${status}:${balance?.available ?? '-'}`);
    }
    const html = renderToString(
      h(
        CrossAppProvider,
        { config: { appId: 'a', issuer: 'https://idp.test', redirectUrl: 'https://app.test/cb' } },
        h(CrossAppLogin),
        h(Balance),
        h(CreditPurchase),
        h(SubscriptionManager),
      ),
    );
    expect(html).toContain('data-state="loading"');
    expect(html).toContain('loading:-');
    expect(html).toContain('Loading your plan…');
    // The modal too (its focus handling runs in an effect, never on the server).
    const modal = renderToString(h(ErrorModal, { error: new SDKError('timeout'), onClose: () => undefined }));
    expect(modal).toContain('aria-modal="true"');
  });
});
