import { useEffect, useRef, useState } from 'react';
import type { ConsoleOutput } from '../../../src-main/console/contract.ts';
import { api, mode } from '../../api/index.ts';
import { errorText, toast } from '../../store/toasts.ts';
import { useSomeTenants } from '../../store/session.ts';
import { useAsync, useDebounced } from '../../lib/hooks.ts';
import { useHotkeys } from '../../lib/shortcuts.ts';
import { dateTime, ms, num, short, stamp, time, toolLabel } from '../../lib/format.ts';
import { downloadFrom } from '../../lib/browser.ts';
import { checkExportDownload, exportDownloadUrl } from '../../api/web.ts';
import { DecisionBadge } from '../../components/Badge.tsx';
import { PageHeader } from '../../components/Layout.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { AuditFilters, NO_FILTERS, toQuery, type Filters } from './AuditFilters.tsx';
import { AuditDetail } from './AuditDetail.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';
import { CheckpointFingerprint, ExportFormatSelect, FORMAT_LABEL, type ExportFormat } from './AuditAnchor.tsx';

const PAGE = 100;

/** The result banner takes the focus when it appears, so the next key press starts from the answer. */
function VerifyResult({ r }: { r: ConsoleOutput<'verifyAudit'> }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), [r]);
  return r.ok ? (
    <div className="banner banner-ok" role="status" data-testid="verify-result" tabIndex={-1} ref={ref}>
      Chain intact: {num(r.count)} entries verified in {ms(r.ms)}; head #{r.headSeq} <span className="mono">{short(r.headHash ?? '', 16)}</span>; {num(r.checkpoints)} signed checkpoints agree (checked {time(r.checkedAt)})
    </div>
  ) : (
    <div className="banner banner-danger" role="alert" data-testid="verify-result" tabIndex={-1} ref={ref}>
      Audit log NOT intact{r.badSeq ? ` at entry #${r.badSeq}` : ''} ({r.case}): {r.reason}
    </div>
  );
}

export function AuditPage() {
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const applied = useDebounced(filters, 250);
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const [open, setOpen] = useState<number | null>(null);
  const [verify, setVerify] = useState<ConsoleOutput<'verifyAudit'> | null>(null);
  const [busy, setBusy] = useState<'verify' | 'export' | null>(null);
  const [format, setFormat] = useState<ExportFormat>('jsonl');
  const anchor = useAsync(() => api.auditCheckpoint(), [verify]);
  const searchRef = useRef<HTMLInputElement>(null);
  const cursor = cursors[cursors.length - 1];
  const lookups = useAsync(() => api.lookups(), []);
  // The export holds every tenant's entries: an account limited to some tenants is refused it, so it is not offered.
  const someTenants = useSomeTenants();
  const page = useAsync(() => api.queryAudit({ ...toQuery(applied), beforeSeq: cursor, limit: PAGE }), [JSON.stringify(applied), cursor]);
  useHotkeys({ '/': () => searchRef.current?.focus() });

  const change = (f: Filters) => {
    setFilters(f);
    setCursors([undefined]);
  };
  const runVerify = async () => {
    setBusy('verify');
    try {
      setVerify(await api.verifyAudit());
    } catch (e) {
      toast('danger', `Verify failed: ${errorText(e)}`);
    } finally {
      setBusy(null);
    }
  };
  const runExport = async () => {
    setBusy('export');
    try {
      // The desktop writes it where the technician saves it; a browser downloads it as the server streams it.
      if (mode === 'desktop') {
        const x = await api.exportAudit({ format });
        if (x.savedTo && x.checkpoint) toast('ok', `Saved ${num(x.checkpoint.count)} entries with a signed checkpoint (key ${x.checkpoint.keyFingerprint.slice(0, 12)}…) to ${x.savedTo}.`);
        return;
      }
      await checkExportDownload(format);
      downloadFrom(exportDownloadUrl(format), '');
      toast('ok', 'The export is downloading: every entry, then the signed checkpoint.');
    } catch (e) {
      toast('danger', `Export failed: ${errorText(e)}`);
    } finally {
      setBusy(null);
    }
  };

  const data = page.data;
  const first = (cursors.length - 1) * PAGE;
  return (
    <div className="page page-wide">
      <PageHeader
        title="Audit"
        sub="Append-only and hash-chained: every call, decision, key and policy change."
        actions={
          <>
            <button type="button" className="btn btn-small" onClick={() => void runVerify()} disabled={busy !== null}>{busy === 'verify' ? 'Verifying…' : 'Verify chain'}</button>
            <ExportFormatSelect value={format} onChange={setFormat} disabled={busy !== null || someTenants} />
            <button type="button" className="btn btn-small" onClick={() => void runExport()} disabled={busy !== null || someTenants}
              title={someTenants ? 'The export holds every tenant\'s entries; your account acts on some tenants only' : 'With a signed checkpoint; check it with countersign audit verify --export F --data-dir D'}>
              {busy === 'export' ? 'Exporting…' : `Export ${FORMAT_LABEL[format]}`}
            </button>
          </>
        }
      />
      <CheckpointFingerprint checkpoint={anchor.data?.checkpoint ?? null} />
      {verify ? <VerifyResult r={verify} /> : null}
      <AuditFilters value={filters} onChange={change} lookups={lookups.data} searchRef={searchRef} />
      {page.error ? <ErrorBox error={page.error} onRetry={page.reload} /> : null}
      {!data ? (page.loading ? <Loading what="audit entries" /> : null) : !data.entries.length ? (
        <Empty title="No entries match">Widen the time range or clear the filters.</Empty>
      ) : (
        <div className="panel">
          <ScrollBox className="fill-audit" label="Audit entries">
            <table className="table table-rows sticky-first fixed" aria-label="Audit entries">
              {/* Two facts to a cell (time over event, key over tenant), so the row fits a 1024 px window without scrolling. */}
              <colgroup>
                <col style={{ width: 52 }} /><col style={{ width: 104 }} /><col style={{ width: 166 }} /><col style={{ width: 140 }} />
                <col style={{ width: 170 }} /><col /><col style={{ width: 76 }} />
              </colgroup>
              <thead>
                <tr>
                  <th scope="col" className="num">#</th><th scope="col">Time · event</th><th scope="col">Decision</th><th scope="col">Key · tenant</th>
                  <th scope="col">Tool · action</th><th scope="col">Outcome</th><th scope="col" className="num">Duration</th>
                </tr>
              </thead>
              <tbody>
                {data.entries.map((e) => (
                  <tr key={e.seq} className={`clickable${open === e.seq ? ' selected' : ''}`} data-testid="audit-row" onClick={() => setOpen(e.seq)}>
                    <td className="num mono">
                      <button type="button" className="link-btn" aria-label={`Entry ${e.seq}`} onClick={(k) => {
                        k.stopPropagation();
                        setOpen(e.seq);
                      }}>{e.seq}</button>
                    </td>
                    <td title={dateTime(e.at)}><div className="mono">{stamp(e.at)}</div><div className="muted tiny">{e.event}</div></td>
                    <td className="wrap-cell"><DecisionBadge decision={e.decision} code={e.code} /></td>
                    <td><div>{e.keyName ?? '—'}</div><div className="muted tiny">{e.tenant ?? '—'}</div></td>
                    <td className="mono ellipsis">{toolLabel(e.tool, e.action)}</td>
                    <td className="ellipsis outcome" title={e.outcome ?? ''}>{e.outcome ?? '—'}</td>
                    <td className="num mono">{ms(e.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
          <div className="table-foot">
            <span className="muted">{num(first + 1)}–{num(first + data.entries.length)} of {num(data.total)}</span>
            <button type="button" className="btn btn-small" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Newer</button>
            <button type="button" className="btn btn-small" disabled={data.nextBeforeSeq === null} onClick={() => setCursors([...cursors, data.nextBeforeSeq!])}>Older</button>
          </div>
        </div>
      )}
      {open !== null ? <AuditDetail seq={open} onClose={() => setOpen(null)} /> : null}
    </div>
  );
}
