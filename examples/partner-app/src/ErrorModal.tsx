// A small accessible dialog for errors (never alert()): focus moves in, Escape closes.
import { useEffect, useRef, type ReactNode } from 'react';

export function ErrorModal({ title, children, onClose, actions }: { title: string; children: ReactNode; onClose: () => void; actions?: ReactNode }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    close.current?.focus();
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && onClose();
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus?.();
    };
  }, [onClose]);
  return (
    <div className="backdrop">
      <div role="dialog" aria-modal="true" aria-labelledby="error-title" className="modal">
        <h2 id="error-title">{title}</h2>
        <div>{children}</div>
        <div className="actions">
          {actions}
          <button ref={close} onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}
