// A side drawer for details and a small modal dialog: Esc closes, focus moves in and comes back.
import { useEffect, useRef, type ReactNode } from 'react';

function useDialogFocus(onClose: () => void) {
  const ref = useRef<HTMLDivElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = ref.current;
    // An element marked data-autofocus wins; otherwise the first field or button (querySelector takes document order, not selector order).
    const first = el?.querySelector<HTMLElement>('[data-autofocus]') ?? el?.querySelector<HTMLElement>('textarea, input, select, button:not([data-close])') ?? el;
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        closeRef.current();
      }
    };
    el?.addEventListener('keydown', onKey);
    return () => {
      el?.removeEventListener('keydown', onKey);
      before?.focus?.();
    };
  }, []);
  return ref;
}

export function Drawer({ title, onClose, children }: { title: ReactNode; onClose: () => void; children: ReactNode }) {
  const ref = useDialogFocus(onClose);
  return (
    <div className="drawer" role="dialog" aria-modal="false" aria-label={typeof title === 'string' ? title : 'Details'} ref={ref} tabIndex={-1}>
      <div className="drawer-head">
        <div className="drawer-title">{title}</div>
        <button type="button" className="btn btn-ghost btn-small" data-close onClick={onClose} aria-label="Close details">Close</button>
      </div>
      <div className="drawer-body">{children}</div>
    </div>
  );
}

export function Dialog({ title, onClose, children, footer }: { title: string; onClose: () => void; children: ReactNode; footer: ReactNode }) {
  const ref = useDialogFocus(onClose);
  return (
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="dialog" role="dialog" aria-modal="true" aria-label={title} ref={ref} tabIndex={-1}>
        <h2 className="dialog-title">{title}</h2>
        <div className="dialog-body">{children}</div>
        <div className="dialog-foot">{footer}</div>
      </div>
    </div>
  );
}
