// Four-eyes rules (team mode): a tier-3 request matching a rule (tool, action, tenant; unset = any) waits for N distinct
// technicians; the highest matching count wins. Owners and admins set them.
import { useState } from 'react';
import type { FourEyesRuleViewT, ToolInfoT, TenantRefT } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useAsync, useSubmit } from '../../lib/hooks.ts';
import { useVersions } from '../../store/versions.ts';
import { PageHeader, Field } from '../../components/Layout.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';
import { errorText, toast } from '../../store/toasts.ts';

function RuleForm({ tools, tenants, editing, onDone, onCancel }: { tools: ToolInfoT[]; tenants: TenantRefT[]; editing: FourEyesRuleViewT | null; onDone(): void; onCancel(): void }) {
  const [tool, setTool] = useState(editing?.tool ?? '');
  const [action, setAction] = useState(editing?.action ?? '');
  const [tenant, setTenant] = useState(editing?.tenant ?? '');
  const [approvers, setApprovers] = useState(String(editing?.approvers ?? 2));
  const actions = tools.find((t) => t.name === tool)?.actions ?? [];
  const { busy, error, submit } = useSubmit(async () => {
    await api.setFourEyesRule({ replaces: editing?.id, tool: tool || null, action: action || null, tenant: tenant || null, approvers: Number(approvers) });
    onDone();
  });
  return (
    <form className="panel form-grid" onSubmit={submit} aria-label={editing ? 'Edit four-eyes rule' : 'Add four-eyes rule'}>
      <Field label="Tool" htmlFor="rule-tool" hint="Blank: every tool.">
        <select id="rule-tool" value={tool} onChange={(e) => { setTool(e.target.value); setAction(''); }}>
          <option value="">any tool</option>
          {tools.filter((t) => t.baseTier <= 3).map((t) => <option key={t.name} value={t.name}>{t.name}</option>)}
        </select>
      </Field>
      <Field label="Action" htmlFor="rule-action" hint="Blank: every action of the tool.">
        <select id="rule-action" value={action} onChange={(e) => setAction(e.target.value)} disabled={!actions.length}>
          <option value="">any action</option>
          {actions.map((a) => <option key={a.name} value={a.name}>{a.name}</option>)}
        </select>
      </Field>
      <Field label="Tenant" htmlFor="rule-tenant" hint="Blank: every tenant.">
        <select id="rule-tenant" value={tenant} onChange={(e) => setTenant(e.target.value)}>
          <option value="">any tenant</option>
          {tenants.map((t) => <option key={t.id} value={t.slug}>{t.name} ({t.slug})</option>)}
        </select>
      </Field>
      <Field label="Approvers" htmlFor="rule-approvers" hint="Distinct technicians, 2 to 5; the one whose key asked never counts.">
        <input id="rule-approvers" type="number" min={2} max={5} value={approvers} onChange={(e) => setApprovers(e.target.value)} required />
      </Field>
      <div className="form-actions">
        {error ? <div className="form-error" role="alert">{error}</div> : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Saving…' : editing ? 'Save rule' : 'Add rule'}</button>
        <button type="button" className="btn btn-ghost" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}

export function FourEyesPage() {
  const version = useVersions((s) => s.policy);
  const rules = useAsync(() => api.listFourEyesRules(), [version]);
  const lookups = useAsync(() => api.lookups(), []);
  const [form, setForm] = useState<{ editing: FourEyesRuleViewT | null } | null>(null);
  const remove = async (r: FourEyesRuleViewT) => {
    try {
      await api.removeFourEyesRule({ id: r.id });
      toast('ok', 'Rule removed: new requests it matched need one approver again.');
    } catch (e) {
      toast('danger', `Could not remove the rule: ${errorText(e)}`);
    }
    rules.reload();
  };
  const list = rules.data?.rules ?? [];
  return (
    <div className="page page-wide">
      <PageHeader
        title="Four-eyes rules"
        sub="A tier-3 request a rule matches waits for that many distinct technicians; a deny by anyone ends it. The highest matching count wins; a rule with every field blank covers every tier-3 request."
        actions={!form && rules.data ? <button type="button" className="btn btn-primary" onClick={() => setForm({ editing: null })}>Add rule</button> : null}
      />
      {form ? (
        lookups.data ? (
          <RuleForm key={form.editing?.id ?? 'new'} tools={lookups.data.tools} tenants={lookups.data.tenants} editing={form.editing}
            onCancel={() => setForm(null)} onDone={() => {
              setForm(null);
              toast('ok', 'Rule saved: it applies to requests made from now on.');
              rules.reload();
            }} />
        ) : lookups.error ? <ErrorBox error={lookups.error} onRetry={lookups.reload} /> : <Loading what="tools" />
      ) : null}
      {rules.error ? <ErrorBox error={rules.error} onRetry={rules.reload} /> : null}
      {!rules.data ? (rules.loading ? <Loading what="rules" /> : null) : !list.length ? (
        <Empty title="No four-eyes rules">Every tier-3 request needs one approver.</Empty>
      ) : (
        <ScrollBox className="panel" label="Four-eyes rules">
          <table className="table table-rows" aria-label="Four-eyes rules">
            <thead>
              <tr><th scope="col">Tool</th><th scope="col">Action</th><th scope="col">Tier</th><th scope="col">Tenant</th><th scope="col" className="num">Approvers</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              {list.map((r) => (
                <tr key={r.id} data-testid="rule-row">
                  <td className="mono">{r.tool ?? <span className="muted">any</span>}</td>
                  <td className="mono">{r.action ?? <span className="muted">any</span>}</td>
                  <td>{r.tier ?? 'any'}</td>
                  <td className="mono">{r.tenant ?? <span className="muted">any</span>}</td>
                  <td className="num mono">{r.approvers}</td>
                  <td>
                    <div className="state-cell">
                      <button type="button" className="btn btn-small" onClick={() => setForm({ editing: r })}>Edit</button>
                      <button type="button" className="btn btn-small btn-danger-outline" onClick={() => void remove(r)}>Remove</button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      )}
    </div>
  );
}
