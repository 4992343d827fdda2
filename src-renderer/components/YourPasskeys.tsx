// "Your passkeys": the signed-in technician's own passkeys (web console, team mode). A button in the sidebar opens a
// dialog that lists them, adds one (the browser asks the authenticator; the server verifies and audits it) and
// removes one after a confirmation in place.
import { useCallback, useEffect, useState } from 'react';
import { listPasskeys, registerPasskey, removePasskey, type Passkey } from '../api/passkeys.ts';
import { dateTime } from '../lib/format.ts';
import { useSubmit } from '../lib/hooks.ts';
import { errorText, toast } from '../store/toasts.ts';
import { Field } from './Layout.tsx';
import { Dialog } from './Overlay.tsx';
import { ErrorBox, Loading } from './States.tsx';

export function YourPasskeysButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="btn btn-ghost btn-small side-btn" onClick={() => setOpen(true)}>Your passkeys</button>
      {open ? <YourPasskeysDialog onClose={() => setOpen(false)} /> : null}
    </>
  );
}

function YourPasskeysDialog({ onClose }: { onClose: () => void }) {
  const [passkeys, setPasskeys] = useState<Passkey[] | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [name, setName] = useState('');
  const [removing, setRemoving] = useState<Passkey | null>(null);
  const load = useCallback(() => {
    setLoadError(null);
    listPasskeys().then(setPasskeys, setLoadError);
  }, []);
  useEffect(load, [load]);
  const { busy, error, submit } = useSubmit(async () => {
    const made = await registerPasskey(name.trim());
    toast('ok', `Passkey "${made.name}" added.`);
    setName('');
    load();
  });

  const remove = async (p: Passkey) => {
    try {
      await removePasskey(p.id);
      toast('ok', `Passkey "${p.name}" removed. Remove it from the device too.`);
    } catch (e) {
      toast('danger', `Could not remove the passkey: ${errorText(e)}`);
    }
    setRemoving(null);
    load();
  };

  return (
    <Dialog title="Your passkeys" onClose={onClose} footer={<button type="button" className="btn" onClick={onClose} data-close>Close</button>}>
      <section aria-label="Your passkeys" data-testid="your-passkeys">
        <p className="muted">A passkey signs you in without your passphrase: your device checks it is you (fingerprint, face or PIN).</p>
        {loadError ? <ErrorBox error={loadError} onRetry={load} />
          : !passkeys ? <Loading what="passkeys" />
          : passkeys.length === 0 ? <p data-testid="no-passkeys">You have no passkeys yet.</p>
          : (
            <ul style={{ listStyle: 'none', padding: 0 }}>
              {passkeys.map((p) => (
                <li key={p.id} data-testid="passkey">
                  <span className="strong">{p.name}</span>
                  <span className="muted tiny"> · added {dateTime(p.createdAt)} · {p.lastUsedAt ? `last used ${dateTime(p.lastUsedAt)}` : 'not used yet'}</span>{' '}
                  {removing?.id === p.id ? (
                    // Asked in place (this is already a dialog): Cancel comes first and takes the focus.
                    <span role="group" aria-label={`Remove passkey ${p.name}?`}>
                      <button type="button" className="btn btn-small" onClick={() => setRemoving(null)} autoFocus>Cancel</button>{' '}
                      <button type="button" className="btn btn-small btn-danger" onClick={() => void remove(p)}>Remove passkey</button>
                    </span>
                  ) : <button type="button" className="btn btn-small" onClick={() => setRemoving(p)} aria-label={`Remove passkey ${p.name}`}>Remove</button>}
                </li>
              ))}
            </ul>
          )}
        <form onSubmit={submit} aria-label="Add a passkey">
          <Field label="New passkey's name" htmlFor="passkey-name" hint="Which device holds it, e.g. “work laptop”.">
            <input id="passkey-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} readOnly={busy} />
          </Field>
          {error ? <div className="form-error" role="alert">{error}</div> : null}
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>{busy ? 'Waiting for your device…' : 'Add a passkey'}</button>
        </form>
      </section>
    </Dialog>
  );
}
