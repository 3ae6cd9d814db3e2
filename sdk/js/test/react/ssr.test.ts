// @vitest-environment node
import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

describe('server rendering (react-dom/server, no window)', () => {
  it('imports and renders every component to HTML without touching window', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    // Any access to window or document during render would throw a ReferenceError here.
    const { CrossAppProvider, CrossAppLogin, useAuth, useCredits } = await import('../../src/react');
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
      ),
    );
    expect(html).toContain('data-state="loading"');
    expect(html).toContain('loading:-');
  });
});
