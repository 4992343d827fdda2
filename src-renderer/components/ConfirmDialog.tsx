// A destructive action that asks first. It opens on Cancel, the safe choice: Enter alone never runs the action.
import { useState, type ReactNode } from 'react';
import { errorText, toast } from '../store/toasts.ts';
import { Dialog } from './Overlay.tsx';

/** `run` does the action and returns the success message; a failure is toasted as "Could not revoke: …". */
export function ConfirmDialog({ title, action, children, run, onClose }: {
  title: string; action: string; children: ReactNode; run: () => Promise<string>; onClose: (done: boolean) => void;
}) {
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      toast('ok', await run());
      onClose(true);
    } catch (e) {
      toast('danger', `Could not revoke: ${errorText(e)}`);
      onClose(false);
    }
  };
  return (
    <Dialog
      title={title}
      onClose={() => onClose(false)}
      footer={
        <>
          <button type="button" className="btn" onClick={() => onClose(false)} data-autofocus>Cancel</button>
          <button type="button" className="btn btn-danger" onClick={() => void go()} disabled={busy}>{action}</button>
        </>
      }
    >
      {children}
    </Dialog>
  );
}
