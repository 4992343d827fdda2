import { useState } from 'react';
import { copyText } from '../lib/browser.ts';
import { useOverflows } from '../lib/hooks.ts';
import { VisibleText } from './VisibleText.tsx';

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

/**
 * Code, named by `label`, with hidden and look-alike characters shown as escaped code points. A block that scrolls is a focusable region (so the keyboard can scroll it);
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
                <td className="lc">{l ? <VisibleText text={l} /> : ' '}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <pre><VisibleText text={code} /></pre>
      )}
    </div>
  );
}

export function JsonView({ value, maxHeight = 360, label }: { value: unknown; maxHeight?: number; label: string }) {
  const text = value === undefined ? 'undefined' : JSON.stringify(value, null, 2);
  return <CodeBlock code={text} maxHeight={maxHeight} label={label} />;
}
