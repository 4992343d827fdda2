// A box that scrolls its content (a wide table, a long list). While it does, it is a named region in the Tab order,
// so the keyboard can scroll it; while everything fits, it is a plain box.
import type { CSSProperties, ReactNode } from 'react';
import { useOverflows } from '../lib/hooks.ts';

export function ScrollBox({ label, className = '', style, children }: { label: string; className?: string; style?: CSSProperties; children: ReactNode }) {
  const [ref, scrolls] = useOverflows<HTMLDivElement>();
  return (
    <div ref={ref} className={`scroll ${className}`} style={style} role={scrolls ? 'region' : undefined} aria-label={scrolls ? label : undefined} tabIndex={scrolls ? 0 : undefined}>
      {children}
    </div>
  );
}
