import { useState } from 'react';
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

export function CodeBlock({ code, lineNumbers = false, maxHeight, label }: { code: string; lineNumbers?: boolean; maxHeight?: number; label?: string }) {
  const lines = code.split('\n');
  return (
    <div className="code" style={maxHeight ? { maxHeight } : undefined} aria-label={label} tabIndex={0}>
      {lineNumbers ? (
        <table className="code-lines">
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

export function JsonView({ value, maxHeight = 360 }: { value: unknown; maxHeight?: number }) {
  const text = value === undefined ? 'undefined' : JSON.stringify(value, null, 2);
  return <CodeBlock code={text} maxHeight={maxHeight} />;
}
