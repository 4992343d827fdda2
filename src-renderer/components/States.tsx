import type { ReactNode } from 'react';
import { errorText } from '../store/toasts.ts';

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty" role="status">
      <div className="empty-title">{title}</div>
      {children ? <div className="empty-body">{children}</div> : null}
    </div>
  );
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="error-box" role="alert">
      <span>{errorText(error)}</span>
      {onRetry ? <button type="button" className="btn btn-small" onClick={onRetry}>Retry</button> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <div className="loading" role="status" aria-live="polite">Loading {what}…</div>;
}
