/**
 * The error dialog: `role="alertdialog"`, `aria-modal`, labelled by its title and
 * described by its message; focus moves into it, Tab and Shift+Tab stay inside it,
 * Escape closes it, and focus goes back to where it was.  Never `alert()`.
 */
import { createElement as h, useEffect, useId, useRef, type ReactNode } from 'react';
import type { SDKError } from '../errors';
import { InsufficientCreditsError } from '../errors';

/** A button beside "Close" (e.g. "Buy credits"); `run` is called in the click handler. */
export interface ErrorModalAction {
  label: string;
  run(): unknown;
}

export interface ErrorModalProps {
  error: SDKError;
  onClose(): void;
  action?: ErrorModalAction | undefined;
  /** Overrides the title chosen from the error's code. */
  title?: string;
  className?: string;
}

const TEXT: Record<string, [string, string?]> = {
  insufficient_credits: ['Not enough credits'],
  insufficient_user_authentication: ['Confirm it is you', 'For your security, sign in again to continue.'],
  popup_blocked: ['Pop-up blocked', 'Your browser blocked the window. Allow pop-ups for this site and try again.'],
  timeout: ['Timed out', 'The window stayed open too long. Please try again.'],
  network_error: ['Connection problem', 'The server could not be reached. Check your connection and try again.'],
  access_denied: ['Access denied', 'The request was declined.'],
  login_required: ['Please sign in', 'Your session has ended. Sign in again to continue.'],
  payments_not_configured: ['Not available'],
  payment_failed: ['Payment failed', 'The payment did not go through. Nothing was charged.'],
};

/** The title and sentence shown for an error. */
export function describeError(error: SDKError): { title: string; message: string } {
  const [title, message] = TEXT[error.code] ?? ['Something went wrong'];
  if (error instanceof InsufficientCreditsError) {
    const left = error.available ?? error.balance;
    return { title, message: left === undefined ? 'You do not have enough credits for this.' : `You have ${left} credits available, not enough for this.` };
  }
  return { title, message: message ?? error.description ?? error.message };
}

const FOCUSABLE = 'button:not([disabled]),[href],input:not([disabled]),select:not([disabled]),textarea:not([disabled]),[tabindex]:not([tabindex="-1"])';

/** An accessible modal for one error. */
export function ErrorModal({ error, onClose, action, title, className }: ErrorModalProps): ReactNode {
  const id = useId();
  const dialog = useRef<HTMLDivElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  const text = describeError(error);

  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const node = dialog.current;
    (node?.querySelector<HTMLElement>('[data-cas-primary]') ?? node)?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        closeRef.current();
      } else if (event.key === 'Tab' && node) {
        const items = [...node.querySelectorAll<HTMLElement>(FOCUSABLE)];
        const first = items[0];
        const last = items[items.length - 1];
        const inside = node.contains(document.activeElement);
        if (event.shiftKey && (!inside || document.activeElement === first || document.activeElement === node)) {
          event.preventDefault();
          last?.focus();
        } else if (!event.shiftKey && (!inside || document.activeElement === last)) {
          event.preventDefault();
          first?.focus();
        }
      }
    };
    // Focus leaving by pointer (or a script) comes back.
    const onFocusIn = (event: FocusEvent) => {
      if (node && !node.contains(event.target as Node)) node.querySelector<HTMLElement>(FOCUSABLE)?.focus();
    };
    document.addEventListener('keydown', onKey, true);
    document.addEventListener('focusin', onFocusIn);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('focusin', onFocusIn);
      if (previous && previous.isConnected) previous.focus();
    };
  }, []);

  return h(
    'div',
    { className: 'cas-modal-backdrop', style: BACKDROP, onMouseDown: (e: { target: unknown; currentTarget: unknown }) => e.target === e.currentTarget && onClose() },
    h(
      'div',
      {
        ref: dialog,
        role: 'alertdialog',
        'aria-modal': 'true',
        'aria-labelledby': `${id}t`,
        'aria-describedby': `${id}d`,
        tabIndex: -1,
        className: className ?? 'cas-modal',
        style: BOX,
        'data-code': error.code,
      },
      h('h2', { id: `${id}t`, style: { margin: '0 0 8px', fontSize: '1.15em' } }, title ?? text.title),
      h('p', { id: `${id}d`, style: { margin: '0 0 16px' } }, text.message),
      h(
        'div',
        { style: { display: 'flex', gap: 8, justifyContent: 'flex-end' } },
        action ? h('button', { type: 'button', 'data-cas-primary': '', onClick: () => action.run() }, action.label) : null,
        h('button', { type: 'button', ...(action ? {} : { 'data-cas-primary': '' }), onClick: () => onClose() }, 'Close'),
      ),
    ),
  );
}

const BACKDROP = { position: 'fixed', inset: 0, background: 'rgba(0,0,0,.45)', display: 'flex', alignItems: 'center', justifyContent: 'center', zIndex: 2147483000 } as const;
const BOX = { background: '#fff', color: '#111', borderRadius: 8, padding: 24, maxWidth: 420, width: 'calc(100% - 32px)', boxShadow: '0 10px 40px rgba(0,0,0,.3)', fontFamily: 'system-ui, sans-serif' } as const;
