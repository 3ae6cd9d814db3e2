import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StrictMode, createElement as h } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { CrossAppLogin, CrossAppProvider, useAuth, useCredits } from '../../src/react';
import { SDKError } from '../../src/errors';
import { ADA, fakeAuth } from './fake-auth';

function Status() {
  const { status, user } = useAuth();
  const { balance, isLoading } = useCredits();
  return h('p', { 'data-testid': 'status' }, `${status} ${user?.email ?? '-'} ${isLoading ? 'loading' : (balance?.available ?? '-')}`);
}

describe('CrossAppProvider and the hooks', () => {
  it('goes from loading to signed out, signs in, loads the balance, signs out', async () => {
    const fake = fakeAuth();
    fake.routes.set('GET /api/cross-app/credits', () => ({ balance: 50, held: 0, available: 50 }));
    render(h(CrossAppProvider, { sdk: fake.auth }, h(Status), h(CrossAppLogin)));
    expect(screen.getByTestId('status').textContent).toBe('loading - loading');
    expect((screen.getByRole('button', { name: 'Loading…' }) as HTMLButtonElement).disabled).toBe(true);
    await act(async () => fake.start(null));
    expect(screen.getByTestId('status').textContent).toBe('signed_out - -');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('signed_in ada@example.com 50'));
    expect(screen.getByText('Ada')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('signed_out - -'));
    expect(fake.auth.logout).toHaveBeenCalledOnce();
  });

  it('opens the sign-up screen from "Create account"', async () => {
    const fake = fakeAuth();
    fake.start(null);
    render(h(CrossAppProvider, { sdk: fake.auth }, h(CrossAppLogin, { loginOptions: { next: 'purchase' } })));
    await userEvent.click(await screen.findByRole('button', { name: 'Create account' }));
    expect(fake.auth.login).toHaveBeenCalledWith({ next: 'purchase', screen: 'signup' });
  });

  it('shows a sign-in failure in the modal; a closed popup is quiet', async () => {
    const fake = fakeAuth();
    fake.start(null);
    const onError = vi.fn();
    vi.mocked(fake.auth.login).mockRejectedValueOnce(new SDKError('popup_closed', 'closed'));
    render(h(CrossAppProvider, { sdk: fake.auth, onError }, h(CrossAppLogin)));
    await userEvent.click(await screen.findByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'popup_closed' })));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    vi.mocked(fake.auth.login).mockRejectedValueOnce(new SDKError('access_denied', 'no', { description: 'The user said no' }));
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(dialog.textContent).toContain('Access denied');
    expect(dialog.getAttribute('data-code')).toBe('access_denied');
  });

  it('restores a signed-in user and survives StrictMode without duplicated listeners or a disposed SDK', async () => {
    const fake = fakeAuth();
    fake.start(ADA);
    const dispose = vi.spyOn(fake.auth, 'dispose');
    fake.routes.set('GET /api/cross-app/credits', () => ({ balance: 7, held: 2, available: 5 }));
    const view = render(h(StrictMode, null, h(CrossAppProvider, { sdk: fake.auth }, h(Status))));
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('signed_in ada@example.com 5'));
    // One listener per event after the double effects: a balance event lands once.
    const listeners = (fake.auth.events as unknown as { listeners: Map<string, Set<unknown>> }).listeners;
    expect(listeners.get('creditsChanged')?.size).toBe(1);
    expect(listeners.get('login')?.size).toBe(1);
    act(() => fake.auth.events.emit('creditsChanged', { balance: 9, held: 0, available: 9 }));
    expect(screen.getByTestId('status').textContent).toBe('signed_in ada@example.com 9');
    view.unmount();
    expect(listeners.get('creditsChanged')?.size ?? 0).toBe(0);
    expect(dispose).not.toHaveBeenCalled(); // the app's own SDK
  });

  it('owns and disposes the SDK it made from config, after StrictMode re-mounts it', async () => {
    const disposed: string[] = [];
    const { CrossAppAuthSDK } = await import('../../src/auth/CrossAppAuthSDK');
    const spy = vi.spyOn(CrossAppAuthSDK.prototype, 'dispose').mockImplementation(function (this: InstanceType<typeof CrossAppAuthSDK>) {
      disposed.push(this.config.appId);
    });
    const config = { appId: 'cfg-app', issuer: 'https://idp.test', redirectUrl: 'https://app.test/cb' };
    function Probe() {
      const { auth } = useAuth();
      return h('span', null, auth.config.appId);
    }
    const view = render(h(StrictMode, null, h(CrossAppProvider, { config: { ...config } }, h(Probe))));
    await act(() => new Promise((r) => setTimeout(r, 5)));
    expect(disposed).toEqual([]); // StrictMode's unmount did not dispose the live SDK
    view.rerender(h(StrictMode, null, h(CrossAppProvider, { config: { ...config } }, h(Probe)))); // same values, new object
    await act(() => new Promise((r) => setTimeout(r, 5)));
    expect(disposed).toEqual([]);
    view.unmount();
    await new Promise((r) => setTimeout(r, 5));
    expect(disposed).toEqual(['cfg-app']);
    spy.mockRestore();
  });

  it('completes a redirect sign-in answer once under StrictMode, then reports it', async () => {
    const fake = fakeAuth();
    fake.start(null);
    window.history.replaceState(null, '', '/?code=c1&state=r.abc');
    const handle = vi.spyOn(fake.auth, 'handleRedirectCallback').mockImplementation(async () => {
      window.history.replaceState(null, '', '/');
      fake.auth.events.emit('login', { user: ADA });
      return { user: ADA, returnTo: '/account' };
    });
    vi.mocked(fake.auth.getCurrentUser).mockResolvedValue(ADA);
    const onRedirectCallback = vi.fn();
    render(h(StrictMode, null, h(CrossAppProvider, { sdk: fake.auth, onRedirectCallback }, h(Status))));
    await waitFor(() => expect(onRedirectCallback).toHaveBeenCalledWith({ user: ADA, returnTo: '/account' }));
    expect(handle).toHaveBeenCalledOnce();
    expect(onRedirectCallback).toHaveBeenCalledOnce();
    await waitFor(() => expect(screen.getByTestId('status').textContent).toMatch(/^signed_in ada@example.com/));
  });

  it('leaves a popup answer and ordinary query strings alone', async () => {
    const fake = fakeAuth();
    fake.start(null);
    window.history.replaceState(null, '', '/?code=c1&state=p.abc');
    const handle = vi.spyOn(fake.auth, 'handleRedirectCallback');
    render(h(CrossAppProvider, { sdk: fake.auth }, h(Status)));
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('signed_out - -'));
    expect(handle).not.toHaveBeenCalled();
    window.history.replaceState(null, '', '/');
  });

  it('throws a clear error outside the provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(() => render(h(Status))).toThrow(/CrossAppProvider/);
  });
});
