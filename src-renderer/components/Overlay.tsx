// A side drawer for details and a small modal dialog. Both take the focus and give it back where it came from.
// The dialog holds it: the page behind is inert, Tab cycles inside, Esc closes wherever the focus is.
// The drawer is not modal: Esc closes it while the focus is inside it.
import { useEffect, useRef, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { focusOr } from '../lib/focus.ts';
import { ScrollBox } from './ScrollBox.tsx';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';
const tabbable = (root: HTMLElement) => [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.getClientRects().length > 0);

function useOverlayFocus(onClose: () => void, modal: boolean) {
  const ref = useRef<HTMLDivElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = ref.current!;
    const root = document.getElementById('root');
    if (modal && root) root.inert = true;
    // An element marked data-autofocus wins (a dialog's safe choice); otherwise the first control that is not "Close".
    const first = el.querySelector<HTMLElement>('[data-autofocus]') ?? tabbable(el).find((c) => !c.hasAttribute('data-close')) ?? el;
    first.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        closeRef.current();
      } else if (modal && e.key === 'Tab') {
        const all = tabbable(el);
        if (!all.length) return e.preventDefault();
        const at = all.indexOf(document.activeElement as HTMLElement);
        const next = e.shiftKey ? (at <= 0 ? all.length - 1 : at - 1) : (at === -1 || at === all.length - 1 ? 0 : at + 1);
        e.preventDefault();
        all[next]!.focus();
      }
    };
    // A modal dialog listens on the document, so Esc and Tab work even if something took the focus out.
    const target: HTMLElement | Document = modal ? document : el;
    target.addEventListener('keydown', onKey as EventListener);
    return () => {
      target.removeEventListener('keydown', onKey as EventListener);
      if (modal && root) root.inert = false;
      focusOr(before);
    };
  }, [modal]);
  return ref;
}

export function Drawer({ title, onClose, children }: { title: ReactNode; onClose: () => void; children: ReactNode }) {
  const ref = useOverlayFocus(onClose, false);
  const label = typeof title === 'string' ? title : 'Details';
  return (
    <div className="drawer" role="dialog" aria-modal="false" aria-label={label} ref={ref} tabIndex={-1}>
      <div className="drawer-head">
        <div className="drawer-title">{title}</div>
        <button type="button" className="btn btn-ghost btn-small" data-close onClick={onClose} aria-label="Close details">Close</button>
      </div>
      <ScrollBox className="drawer-body" label={`${label}, content`}>{children}</ScrollBox>
    </div>
  );
}

/** Rendered into <body>, outside the page it makes inert. */
export function Dialog({ title, onClose, children, footer, wide = false }: { title: string; onClose: () => void; children: ReactNode; footer: ReactNode; wide?: boolean }) {
  const ref = useOverlayFocus(onClose, true);
  return createPortal(
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`dialog${wide ? ' dialog-wide' : ''}`} role="dialog" aria-modal="true" aria-labelledby="dialog-title" ref={ref} tabIndex={-1}>
        <h2 className="dialog-title" id="dialog-title">{title}</h2>
        <div className="dialog-body">{children}</div>
        <div className="dialog-foot">{footer}</div>
      </div>
    </div>,
    document.body,
  );
}
