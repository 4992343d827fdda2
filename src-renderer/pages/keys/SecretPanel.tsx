// The new key, shown once, with copy buttons and ready-to-paste connection snippets.
import { useState } from 'react';
import type { KeyViewT } from '../../../src-main/console/contract.ts';
import { CodeBlock, CopyButton } from '../../components/Code.tsx';
import { useFocusOnMount } from '../../lib/focus.ts';
import { connectionSnippets } from './snippets.ts';

export function SecretPanel({ created, secret, baseUrl, onDone }: { created: KeyViewT; secret: string; baseUrl: string; onDone: () => void }) {
  const snippets = connectionSnippets(baseUrl, secret);
  const [tab, setTab] = useState(snippets[0]!.id);
  const s = snippets.find((x) => x.id === tab)!;
  const heading = useFocusOnMount<HTMLHeadingElement>();
  // In Tab order: copy the key, the snippets, and only then "Done", which hides the key for good.
  return (
    <section className="panel secret-panel" aria-labelledby="new-key-title">
      <div className="secret-head">
        <h2 id="new-key-title" ref={heading} tabIndex={-1}>Key “{created.name}” created</h2>
        <p className="warn-text">Copy it now: it is shown once. Only its HMAC is stored, so it cannot be shown again.</p>
      </div>
      <div className="secret-row">
        <code className="mono secret" data-testid="new-key-secret">{secret}</code>
        <CopyButton text={secret} label="Copy key" className="btn-primary" />
      </div>
      <div className="tabs tabs-small" role="tablist" aria-label="Connection snippets">
        {snippets.map((x) => (
          <button key={x.id} type="button" role="tab" aria-selected={x.id === tab} className={`tab${x.id === tab ? ' active' : ''}`} onClick={() => setTab(x.id)}>
            {x.label}
          </button>
        ))}
      </div>
      <div className="snippet">
        <div className="row space">
          <span className="muted">{s.where}</span>
          <CopyButton text={s.text} label={`Copy ${s.label} snippet`} />
        </div>
        <CodeBlock code={s.text} label={`${s.label} snippet`} />
      </div>
      <div className="secret-done">
        <button type="button" className="btn" onClick={onDone}>Done, I have copied it</button>
      </div>
    </section>
  );
}
