import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useSession } from '../store/session.ts';
import { AppError } from '../api/index.ts';
import { passkeySignInAvailability, signInWithPasskey } from '../api/passkeys.ts';

export function Login() {
  const { signIn, message, status, boot, accounts } = useSession();
  const [passphrase, setPassphrase] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLInputElement>(null);
  const [passkeys, setPasskeys] = useState<{ available: boolean; elsewhere: string | null }>({ available: false, elsewhere: null });
  useEffect(() => {
    if (!accounts) return;
    let live = true;
    void passkeySignInAvailability().then((p) => live && setPasskeys(p));
    return () => {
      live = false;
    };
  }, [accounts]);
  // A refused passphrase puts the focus back in the (emptied) field, ready for the next try.
  useEffect(() => {
    if (error) field.current?.focus();
  }, [error]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!passphrase || (accounts && !name.trim())) return;
    setBusy(true);
    setError(null);
    try {
      await signIn(passphrase, accounts ? name.trim() : undefined);
    } catch (err) {
      if (err instanceof AppError && err.code === 'UNAUTHORIZED') setError(accounts ? 'Wrong name or passphrase.' : 'Wrong passphrase.');
      else if (err instanceof AppError && err.code === 'RATE_LIMITED') setError('Too many attempts. Wait a minute, then try again.');
      else setError(err instanceof Error ? err.message : String(err));
      setPassphrase('');
    } finally {
      setBusy(false);
    }
  };

  // Without a name the authenticator offers every passkey it holds for this site; with one, only that account's count.
  const passkeySignIn = async () => {
    setBusy(true);
    setError(null);
    try {
      await signInWithPasskey(name.trim() || undefined);
      await boot();
    } catch (err) {
      if (err instanceof AppError && err.code === 'RATE_LIMITED') setError('Too many attempts. Wait a minute, then try again.');
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  if (status === 'unreachable') {
    return (
      <div className="center-screen">
        <div className="login">
          <h1>Countersign</h1>
          <div className="error-box" role="alert">{message}</div>
          <button type="button" className="btn" onClick={() => void boot()}>Try again</button>
        </div>
      </div>
    );
  }
  return (
    <div className="center-screen">
      <form className="login" onSubmit={submit} aria-label="Sign in">
        <h1>Countersign</h1>
        {accounts
          ? <p className="muted">Approval console. Sign in with your technician account.</p>
          : <p className="muted">Approval console. Sign in with the admin passphrase set by <code>countersign init</code>.</p>}
        {message ? <div className="notice" role="status">{message}</div> : null}
        {accounts ? (
          <>
            <label className="field-label" htmlFor="technician">Technician</label>
            <input id="technician" type="text" autoComplete="username" autoFocus value={name} onChange={(e) => setName(e.target.value)} readOnly={busy} />
          </>
        ) : null}
        <label className="field-label" htmlFor="passphrase">{accounts ? 'Passphrase' : 'Admin passphrase'}</label>
        {/* Read-only, not disabled, while signing in: a disabled field would drop the focus to <body>. */}
        <input
          id="passphrase" ref={field} type="password" autoComplete="current-password" autoFocus={!accounts} value={passphrase}
          onChange={(e) => setPassphrase(e.target.value)} readOnly={busy} aria-invalid={error ? true : undefined} aria-describedby={error ? 'passphrase-error' : undefined}
        />
        {error ? <div className="form-error" role="alert" id="passphrase-error">{error}</div> : null}
        <button type="submit" className="btn btn-primary" disabled={busy || !passphrase || (accounts && !name.trim())}>{busy ? 'Signing in…' : 'Sign in'}</button>
        {passkeys.available
          ? <button type="button" className="btn" onClick={() => void passkeySignIn()} disabled={busy}>Sign in with a passkey</button>
          : null}
        {passkeys.elsewhere
          ? <p className="muted tiny" data-testid="passkeys-elsewhere">Passkeys sign in at <a href={passkeys.elsewhere}>{passkeys.elsewhere}</a>.</p>
          : null}
      </form>
    </div>
  );
}
