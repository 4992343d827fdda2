// The database integrity check runs after the server starts; a damaged database is announced on every page until it is
// dealt with (from the session when the console loads, or pushed when the check finishes).
import { useEffect, useState } from 'react';
import type { ConsoleEvent } from '../../src-main/console/contract.ts';
import { onEvent } from '../api/index.ts';
import { useSession } from '../store/session.ts';

type Integrity = Extract<ConsoleEvent, { type: 'integrity.checked' }>['integrity'];

export function IntegrityNotice() {
  const known = useSession((s) => s.session?.integrity ?? null);
  const policy = useSession((s) => s.session?.policy ?? 'bound');
  const [pushed, setPushed] = useState<Integrity | null>(null);
  useEffect(() => onEvent((e) => {
    if (e.type === 'integrity.checked') setPushed(e.integrity);
  }), []);
  const integrity = pushed ?? known;
  if (integrity?.state !== 'damaged') {
    if (policy !== 'tampered') return null;
    return (
      <div className="notice notice-danger" role="alert" data-testid="policy-integrity-notice">
        <strong>The governance policy stored in the database was changed without the install secret.</strong> The stricter of each stored
        value and its default applies, and changes that would run without approval are refused until an admin reviews the policy
        on the <a href="#/policy">Policy</a> page.
      </div>
    );
  }
  return (
    <div className="notice notice-danger" role="alert" data-testid="integrity-notice">
      <strong>Countersign&apos;s database failed its integrity check.</strong> Stop Countersign and restore the data directory from a
      backup; <code>countersign audit verify</code> checks the audit log. The check found: {integrity.detail}
    </div>
  );
}
