// Desktop only: the newer version the update check found (from the session when the console loads, or pushed later).
// Renders nothing until there is one, and nothing in web mode, where no update check runs.
import { useEffect, useState } from 'react';
import { onEvent } from '../api/index.ts';
import { useSession } from '../store/session.ts';

export function UpdateNotice() {
  const known = useSession((s) => s.session?.update?.version ?? null);
  const [pushed, setPushed] = useState<string | null>(null);
  useEffect(() => onEvent((e) => {
    if (e.type === 'update.available') setPushed(e.version);
  }), []);
  const version = pushed ?? known;
  if (!version) return null;
  return (
    <div className="update-notice tiny" role="status" data-testid="update-notice">
      Update available: version {version}
    </div>
  );
}
