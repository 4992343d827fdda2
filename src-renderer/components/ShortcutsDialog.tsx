// The `?` overlay: every shortcut, and the setting that turns single-key shortcuts off or makes them need Alt.
import { Fragment } from 'react';
import { SHORTCUT_MODES, SHORTCUTS, useShortcutMode, type ShortcutMode } from '../lib/shortcuts.ts';
import { Dialog } from './Overlay.tsx';

const SHOWN: Record<string, string> = { ArrowDown: '↓', ArrowUp: '↑', Escape: 'Esc' };
const SCOPES = [...new Set(SHORTCUTS.map((s) => s.scope))];

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const { mode, set } = useShortcutMode();
  const show = (key: string) => SHOWN[key] ?? (mode === 'alt' ? `Alt+${key}` : key);
  const dim = (key: string) => mode === 'off' && !SHOWN[key];
  return (
    <Dialog
      title="Keyboard shortcuts"
      onClose={onClose}
      wide
      footer={<button type="button" className="btn" onClick={onClose} data-autofocus>Close</button>}
    >
      <fieldset className="field shortcut-mode">
        <legend className="field-label">Single-key shortcuts (letters, digits, / and ?)</legend>
        <div className="row gap wrap-row">
          {SHORTCUT_MODES.map(([m, label]) => (
            <label key={m} className="check">
              <input type="radio" name="shortcut-mode" value={m} checked={mode === m} onChange={() => set(m as ShortcutMode)} /> {label}
            </label>
          ))}
        </div>
        <div className="field-hint">Esc and the arrow keys always work. No shortcut acts while you type in a field.</div>
      </fieldset>
      <table className="table table-compact shortcuts" aria-label="Shortcuts">
        <thead><tr><th scope="col">Keys</th><th scope="col">What they do</th></tr></thead>
        {SCOPES.map((scope) => (
          <tbody key={scope}>
            <tr><th scope="rowgroup" colSpan={2} className="shortcut-scope">{scope}</th></tr>
            {SHORTCUTS.filter((s) => s.scope === scope).map((s) => (
              <tr key={s.label} data-testid="shortcut" className={s.keys.every(dim) ? 'row-dim' : undefined}>
                <td className="nowrap">
                  {s.keys.map((k, i) => <Fragment key={k}>{i ? ' ' : ''}<kbd className="kbd">{show(k)}</kbd></Fragment>)}
                </td>
                <td>{s.label}{s.keys.every(dim) ? <span className="muted"> (off)</span> : null}</td>
              </tr>
            ))}
          </tbody>
        ))}
      </table>
    </Dialog>
  );
}
