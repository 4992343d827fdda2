// Formatting for a dense operator UI: local times, relative ages, countdowns, compact numbers.
const pad = (n: number) => String(n).padStart(2, '0');

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time(iso)}`;
}

/** Time of day for today's entries, month-day and minutes for older ones. */
export function stamp(iso: string, now = new Date()): string {
  const d = new Date(iso);
  return d.toDateString() === now.toDateString() ? time(iso) : `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < -60) return `in ${until(iso, now)}`;
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function until(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((new Date(iso).getTime() - now) / 1000));
  if (s >= 86_400) return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
  return `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
}

export function countdown(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((new Date(iso).getTime() - now) / 1000));
  return s >= 3600 ? until(iso, now) : `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (v < 1) return '<1 ms';
  if (v < 1000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(1)} s`;
}

/** Maintenance windows are defined in UTC: show their times in UTC too. */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

export const num = (n: number) => n.toLocaleString('en-US');
export const short = (s: string, n = 12) => (s.length > n ? `${s.slice(0, n)}…` : s);
export const plural = (n: number, one: string, many = `${one}s`) => `${num(n)} ${n === 1 ? one : many}`;
export const toolLabel = (tool: string | null, action: string | null) => (tool ? (action ? `${tool} · ${action}` : tool) : '—');

/** How the requesting client sees the approval (chosen from what it declared), for the card. */
const FLOWS: Record<string, string> = { task: 'MCP task', url_elicitation: 'URL elicitation (link to this card)', pending_result: 'pending result, polls get_approval_status' };
export const flowLabel = (flow: unknown): string | null => (typeof flow === 'string' ? FLOWS[flow] ?? flow : null);
