import { useLayoutEffect, useRef, useState } from 'react';
import { copyText } from '../lib/browser.ts';

export function CopyButton({ text, label = 'Copy', className = '' }: { text: string; label?: string; className?: string }) {
  const [done, setDone] = useState<boolean | null>(null);
  return (
    <button
      type="button"
      className={`btn btn-small ${className}`}
      onClick={async () => {
        setDone(await copyText(text));
        setTimeout(() => setDone(null), 1500);
      }}
    >
      {done === null ? label : done ? 'Copied' : 'Copy failed'}
    </button>
  );
}

/** True while the element's content is taller or wider than its box (it scrolls). */
function useOverflows<T extends HTMLElement>(): [React.RefObject<T | null>, boolean] {
  const ref = useRef<T>(null);
  const [overflows, setOverflows] = useState(false);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const check = () => setOverflows(el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1);
    check();
    const observer = new ResizeObserver(check);
    observer.observe(el);
    if (el.firstElementChild) observer.observe(el.firstElementChild);
    return () => observer.disconnect();
  }, []);
  return [ref, overflows];
}

/**
 * Code, named by `label`. A block that scrolls is a focusable region (so the keyboard can scroll it);
 * one that shows all its content is a plain named group, not a Tab stop.
 */
export function CodeBlock({ code, lineNumbers = false, maxHeight, label }: { code: string; lineNumbers?: boolean; maxHeight?: number; label: string }) {
  const lines = code.split('\n');
  const [ref, scrolls] = useOverflows<HTMLDivElement>();
  return (
    <div className="code" style={maxHeight ? { maxHeight } : undefined} ref={ref} role={scrolls ? 'region' : 'group'} aria-label={label} tabIndex={scrolls ? 0 : undefined}>
      {lineNumbers ? (
        <table className="code-lines" role="presentation">
          <tbody>
            {lines.map((l, i) => (
              <tr key={i}>
                <td className="ln" aria-hidden="true">{i + 1}</td>
                <td className="lc">{l || ' '}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <pre>{code}</pre>
      )}
    </div>
  );
}

export function JsonView({ value, maxHeight = 360, label }: { value: unknown; maxHeight?: number; label: string }) {
  const text = value === undefined ? 'undefined' : JSON.stringify(value, null, 2);
  return <CodeBlock code={text} maxHeight={maxHeight} label={label} />;
}
