// The latest signed checkpoint of the audit chain, to copy into a ticket or password manager, and the export format picker.
import type { ConsoleOutput } from '../../../src-main/console/contract.ts';
import { AUDIT_EXPORT_FORMATS } from '../../../src-main/console/contract.ts';
import { CopyButton } from '../../components/Code.tsx';
import { time } from '../../lib/format.ts';

type Checkpoint = NonNullable<ConsoleOutput<'auditCheckpoint'>['checkpoint']>;
export type ExportFormat = (typeof AUDIT_EXPORT_FORMATS)[number];
export const FORMAT_LABEL: Record<ExportFormat, string> = { jsonl: 'JSONL', ocsf: 'OCSF', syslog: 'Syslog' };
const FORMAT_HINT: Record<ExportFormat, string> = {
  jsonl: 'the stored entries as JSON lines',
  ocsf: 'OCSF 1.5.0 API Activity events (class 6003), one per line',
  syslog: 'RFC 5424 syslog lines',
};

export function CheckpointFingerprint({ checkpoint }: { checkpoint: Checkpoint | null }) {
  if (!checkpoint) return null;
  return (
    <p className="muted" data-testid="checkpoint-fingerprint">
      Latest signed checkpoint <span className="mono">{checkpoint.fingerprint}</span> ({time(checkpoint.at)}, key <span className="mono">{checkpoint.keyFingerprint}</span>){' '}
      <CopyButton text={`Countersign audit checkpoint ${checkpoint.fingerprint}, key ${checkpoint.keyFingerprint}`} label="Copy fingerprint" className="btn-small" />
    </p>
  );
}

export function ExportFormatSelect({ value, onChange, disabled }: { value: ExportFormat; onChange(f: ExportFormat): void; disabled: boolean }) {
  return (
    <select aria-label="Export format" value={value} disabled={disabled} title={FORMAT_HINT[value]} onChange={(e) => onChange(e.target.value as ExportFormat)}>
      {AUDIT_EXPORT_FORMATS.map((f) => <option key={f} value={f}>{FORMAT_LABEL[f]}</option>)}
    </select>
  );
}
