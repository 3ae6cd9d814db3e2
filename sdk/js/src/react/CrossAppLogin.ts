/** Sign-in and sign-up buttons while signed out; the user and "Sign out" once signed in. */
import { createElement as h, useState, type ReactNode } from 'react';
import type { LoginOptions, LogoutOptions, User } from '../auth/types';
import type { SDKError } from '../errors';
import { useAuth } from './context';

export interface CrossAppLoginProps {
  /** Passed to `login()` (e.g. `{ mode: 'redirect' }`, `{ next: 'purchase' }`). */
  loginOptions?: LoginOptions;
  /** The sign-up button's options are these plus `screen: 'signup'`; false hides it. */
  signup?: boolean;
  logoutOptions?: LogoutOptions;
  loginLabel?: string;
  signupLabel?: string;
  logoutLabel?: string;
  onLogin?: (user: User | null) => void;
  onLogout?: () => void;
  /** Also shown in the provider's modal (a closed popup is not). */
  onError?: (error: SDKError) => void;
  className?: string;
}

/** The seed's embedded login: popup sign-in (opened in the click), sign-up, sign-out. */
export function CrossAppLogin(props: CrossAppLoginProps): ReactNode {
  const { status, user, login, logout } = useAuth();
  const [busy, setBusy] = useState<'login' | 'signup' | 'logout' | null>(null);
  const className = props.className ?? 'cas-login';

  if (status === 'loading') {
    return h('div', { className, 'data-state': 'loading', 'aria-busy': 'true' }, h('button', { type: 'button', disabled: true }, 'Loading…'));
  }
  if (status === 'signed_in' && user) {
    const signOut = () => {
      setBusy('logout');
      logout(props.logoutOptions).then(
        () => props.onLogout?.(),
        () => undefined,
      ).finally(() => setBusy(null));
    };
    return h(
      'div',
      { className, 'data-state': 'signed_in' },
      h('span', { className: 'cas-user' }, 'Signed in as ', h('strong', null, user.name ?? user.email ?? user.sub)),
      ' ',
      h('button', { type: 'button', onClick: signOut, disabled: busy !== null }, props.logoutLabel ?? 'Sign out'),
    );
  }
  // Synchronous up to login(): the popup opens inside the click.
  const start = (which: 'login' | 'signup') => {
    setBusy(which);
    const options: LoginOptions = which === 'signup' ? { ...props.loginOptions, screen: 'signup' } : { ...props.loginOptions };
    login(options).then(
      (signedIn) => props.onLogin?.(signedIn),
      (error: SDKError) => props.onError?.(error),
    ).finally(() => setBusy(null));
  };
  return h(
    'div',
    { className, 'data-state': 'signed_out', 'aria-busy': busy ? 'true' : undefined },
    h('button', { type: 'button', onClick: () => start('login'), disabled: busy !== null }, busy === 'login' ? 'Signing in…' : (props.loginLabel ?? 'Sign in')),
    props.signup === false
      ? null
      : h('button', { type: 'button', onClick: () => start('signup'), disabled: busy !== null }, busy === 'signup' ? 'Opening…' : (props.signupLabel ?? 'Create account')),
  );
}
