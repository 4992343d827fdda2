// The second confirmation a card with hidden or look-alike characters needs. It opens on Cancel: Enter alone never approves.
import type { ApprovalT } from '../../../src-main/console/contract.ts';
import { Dialog } from '../../components/Overlay.tsx';
import { plural, toolLabel } from '../../lib/format.ts';

export function HiddenConfirm({ a, busy, onCancel, onConfirm }: { a: ApprovalT; busy: boolean; onCancel(): void; onConfirm(): void }) {
  const h = a.view.hiddenText;
  return (
    <Dialog
      title="Approve a request with hidden characters?"
      onClose={onCancel}
      footer={
        <>
          <button type="button" className="btn" onClick={onCancel} data-autofocus>Cancel</button>
          <button type="button" className="btn btn-danger" onClick={onConfirm} disabled={busy} data-testid="confirm-hidden">Approve anyway</button>
        </>
      }
    >
      <p>
        <span className="mono">{toolLabel(a.tool, a.action)}</span> on {a.tenant} contains <strong>{plural(h.count, 'invisible, bidirectional or look-alike character')}</strong>.
        A code viewer can show such text differently from what runs (Trojan Source).
      </p>
      <ul className="plain mono" aria-label="Characters found">
        {[...new Set(h.findings.map((f) => `${f.codePoint} ${f.name}`))].map((x) => <li key={x}>{x}</li>)}
      </ul>
      <p>Approve only if you have read the highlighted code points on the card and the request is still what you expect.</p>
    </Dialog>
  );
}
