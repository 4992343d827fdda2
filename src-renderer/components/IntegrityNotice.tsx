// The database integrity check runs after the server starts; a damaged database is announced on every page until it is
// dealt with (from the session when the console loads, or pushed when the check finishes).
import { useEffect, useState } from 'react';
import type { ConsoleEvent } from '../../src-main/console/contract.ts';
import { onEvent } from '../api/index.ts';
import { useSession } from '../store/session.ts';

type Integrity = Extract<ConsoleEvent, { type: 'integrity.checked' }>['integrity'];

export function IntegrityNotice() {
  const known = useSession((s) => s.session?.integrity ?? null);
  const [pushed, setPushed] = useState<Integrity | null>(null);
  useEffect(() => onEvent((e) => {
    if (e.type === 'integrity.checked') setPushed(e.integrity);
  }), []);
  const integrity = pushed ?? known;
  if (integrity?.state !== 'damaged') return null;
  return (
    <div className="notice notice-danger" role="alert" data-testid="integrity-notice">
      <strong>Countersign&apos;s database failed its integrity check.</strong> Stop Countersign and restore the data directory from a
      backup; <code>countersign audit verify</code> checks the audit log. SQLite found: {integrity.detail}
    </div>
  );
}
