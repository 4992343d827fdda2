// Where focus and announcements go: the page heading after a page change, a polite live region for what happened
// out of sight, and a rescue for focus that would otherwise fall to <body> when its element is removed or disabled.
import { useEffect, useRef, type RefObject } from 'react';

/** The shown page's h1 (focusable by script only). While a page loads, Suspense keeps the old one, hidden, in the DOM. */
const heading = () => [...document.querySelectorAll<HTMLElement>('main h1')].find((h) => h.getClientRects().length > 0) ?? null;

/** The open modal dialog, which must keep the focus, or the page's heading. */
function fallbackTarget(): HTMLElement | null {
  return document.querySelector<HTMLElement>('[role="dialog"][aria-modal="true"]') ?? heading();
}

let headingWanted = false;

/** After a page change: focus the new page's h1, now or (for a page still loading) when its header mounts. */
export function focusHeading(): void {
  const h1 = heading();
  headingWanted = !h1;
  h1?.focus();
}

/** For the page header: takes the focus a page change asked for before the header existed. */
export function useWantedHeading(ref: RefObject<HTMLElement | null>): void {
  useEffect(() => {
    if (!headingWanted) return;
    headingWanted = false;
    ref.current?.focus();
  }, [ref]);
}

/** Focuses `el` if it can take focus now; otherwise the page heading. */
export function focusOr(el: HTMLElement | null | undefined): void {
  if (el?.isConnected && !(el as HTMLButtonElement).disabled) el.focus();
  else fallbackTarget()?.focus();
}

let region: HTMLElement | null = null;

/** The live region sits outside #root, so it keeps speaking while a modal dialog makes the page inert. */
export function mountAnnouncer(): void {
  if (region) return;
  region = document.createElement('div');
  region.className = 'sr-only';
  region.setAttribute('role', 'status');
  region.setAttribute('aria-live', 'polite');
  region.dataset.testid = 'announcer';
  document.body.appendChild(region);
}

/** Says `text` politely. Each message is a new node, so the same words twice are still read twice. */
export function announce(text: string): void {
  mountAnnouncer();
  const line = document.createElement('div');
  line.textContent = text;
  region!.appendChild(line);
  while (region!.childElementCount > 5) region!.firstElementChild!.remove();
}

/** When the focused element disappears or is disabled, focus goes to the page heading (or the open dialog), not to <body>. */
export function useFocusRescue(): void {
  useEffect(() => {
    let last: HTMLElement | null = null;
    const onFocus = (e: FocusEvent) => {
      if (e.target instanceof HTMLElement) last = e.target;
    };
    const gone = (el: Element) => !el.isConnected || (el as HTMLButtonElement).disabled === true;
    const check = () => {
      const active = document.activeElement;
      if (active && active !== document.body && !gone(active)) return;
      if (last && gone(last)) {
        last = null;
        fallbackTarget()?.focus({ preventScroll: true });
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['disabled'] });
    document.addEventListener('focusin', onFocus);
    return () => {
      observer.disconnect();
      document.removeEventListener('focusin', onFocus);
    };
  }, []);
}

/** A ref whose element takes the focus after the next render that shows it, once `later()` asked for it. */
export function useFocusLater<T extends HTMLElement>(): { ref: RefObject<T | null>; later(): void } {
  const ref = useRef<T>(null);
  const wanted = useRef(false);
  useEffect(() => {
    if (!wanted.current || !ref.current) return;
    wanted.current = false;
    ref.current.focus();
  });
  return { ref, later: () => { wanted.current = true; } };
}

/** Focuses the element once, when it mounts (a panel's heading after the action that showed it). */
export function useFocusOnMount<T extends HTMLElement>(): RefObject<T | null> {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}
