// How long cards were on screen before their decision: counts and the median per day, and approvals fast enough to be
// rubber-stamping (under 2 s), alone or in a streak.
import { FAST_DECISION_MS } from '../../../src-main/console/contract.ts';
import { api } from '../../api/index.ts';
import { useAsync } from '../../lib/hooks.ts';
import { dateTime, ms, toolLabel } from '../../lib/format.ts';
import { Badge } from '../../components/Badge.tsx';
import { Section } from '../../components/Layout.tsx';
import { ScrollBox } from '../../components/ScrollBox.tsx';
import { Empty, ErrorBox, Loading } from '../../components/States.tsx';

export function DecisionTimes() {
  const r = useAsync(() => api.decisionStats({ days: 14 }), []);
  if (r.error && !r.data) return <ErrorBox error={r.error} onRetry={r.reload} />;
  if (!r.data) return <Loading what="decision times" />;
  const { days, fast, streaks, streakLength } = r.data;
  return (
    <div data-testid="decision-times">
      <p className="muted">From the moment a card is on screen to the technician's decision. Approvals under {ms(FAST_DECISION_MS)} are flagged as possible rubber-stamping; {streakLength} or more in a row are a streak.</p>
      <Section title="Per day (last 14 days)">
        {!days.length ? <Empty title="No decisions yet" /> : (
          <ScrollBox label="Decisions per day">
            <table className="table" aria-label="Decisions per day">
              <thead><tr><th scope="col">Day</th><th scope="col" className="num">Approved</th><th scope="col" className="num">Denied</th><th scope="col" className="num">Median time to approve</th><th scope="col" className="num">Under {ms(FAST_DECISION_MS)}</th></tr></thead>
              <tbody>
                {days.map((d) => (
                  <tr key={d.date}>
                    <td className="mono">{d.date}</td><td className="num">{d.approved}</td><td className="num">{d.denied}</td>
                    <td className="num mono">{ms(d.medianMs)}</td><td className="num">{d.fast ? <Badge tone="warn">{d.fast}</Badge> : 0}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
        )}
      </Section>
      <Section title="Possible rubber-stamping">
        {streaks.length ? (
          <ul className="plain" aria-label="Streaks">
            {streaks.map((s) => <li key={`${s.decidedBy}${s.from}`}><Badge tone="danger">streak</Badge> {s.count} approvals in a row under {ms(FAST_DECISION_MS)} by {s.decidedBy}, {dateTime(s.from)} to {dateTime(s.to)}</li>)}
          </ul>
        ) : null}
        {!fast.length ? <Empty title="No approval was faster than 2 s" /> : (
          <ScrollBox label="Fast approvals">
            <table className="table table-rows" aria-label="Fast approvals">
              <thead><tr><th scope="col">Decided</th><th scope="col">Request</th><th scope="col">Tenant</th><th scope="col" className="num">On screen</th><th scope="col">By</th></tr></thead>
              <tbody>
                {fast.map((f) => (
                  <tr key={f.approvalId} data-testid="fast-row">
                    <td className="nowrap">{dateTime(f.decidedAt)}</td><td className="mono">{toolLabel(f.tool, f.action)}</td><td>{f.tenant}</td>
                    <td className="num mono">{ms(f.viewedMs)}{f.streak ? <> <Badge tone="danger">streak</Badge></> : null}</td><td>{f.decidedBy}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
        )}
      </Section>
    </div>
  );
}
