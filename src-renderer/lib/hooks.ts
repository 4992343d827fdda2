import { useCallback, useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs an async read when its dependencies change; keeps the last data while reloading. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fnRef.current().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** The current time, re-rendered every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** A value that settles `ms` after the last change (search boxes). */
export function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

/**
 * A form's submit: prevents the page post, runs the action once at a time, and keeps its error for display.
 * `describe` turns a failure into the message shown (default: the error's own message).
 */
export function useSubmit(action: () => Promise<void>, describe: (err: unknown) => string = (e) => (e instanceof Error ? e.message : String(e))) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e?: { preventDefault(): void }) => {
    e?.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}

/** True while the element's content is taller or wider than its box, so it scrolls (and the keyboard must reach it). */
export function useOverflows<T extends HTMLElement>(): [RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [overflows, setOverflows] = useState(false);
  const check = useCallback(() => {
    const el = ref.current;
    if (el) setOverflows(el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1);
  }, []);
  // After every render, before the browser paints: content a render brought (an entry loaded into an open drawer) is
  // measured in that same frame, not a frame later by the observers below, so no frame shows a box that scrolls and
  // that the keyboard cannot reach.
  useLayoutEffect(check);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const resized = new ResizeObserver(check);
    const watch = () => {
      resized.disconnect();
      resized.observe(el);
      for (const child of el.children) resized.observe(child);
    };
    watch();
    // Children replaced without a render of this box (a child's own state): watch the new ones, and look again. Changes
    // deeper down that alter a size reach the watched children's observer; those that do not cannot change the overflow.
    const mutated = new MutationObserver(() => {
      watch();
      check();
    });
    mutated.observe(el, { childList: true });
    return () => {
      resized.disconnect();
      mutated.disconnect();
    };
  }, [check]);
  return [ref, overflows];
}
