// The open block's summary from what this process remembers of its own entries, so that the append closing a block can
// write the block's rows (facets, time bounds, key usage) without reading its 1,024 entries back: that read took about
// a millisecond at every block close, on the gate's write path, with every call in flight waiting. Each committed entry
// adds its few fields to arrays; they are counted once, at the close.
//
// The counts are used only when they are complete: this process committed every entry of the block (no other writer,
// such as the CLI or another node, appended in it) and saw them in increasing seq. Anything else (a restart in the
// middle of a block, another writer, a seq appended twice after someone edited the log) reads the log as before.
import { BLOCK, type Facet } from './facets.ts';
import { isCall } from './keyUsage.ts';
import type { AuditRow } from './log.ts';

/** A closed block's summary, as facets.ts and keyUsage.ts write it. */
export interface BlockCounts {
  block: number;
  entries: number;
  /** Earliest and latest `at` (min and max, as the summaries keep them). */
  firstAt: string;
  lastAt: string;
  /** Entries per facet value (values that are null are not counted, as in the summaries). */
  facets: Map<Facet, Map<string, number>>;
  /** Per key: its calls (keyUsage.ts's predicate) and the latest of them. */
  calls: Map<string, { calls: number; lastAt: string }>;
}

type Counted = Pick<AuditRow, 'seq' | 'at' | 'event' | 'decision' | 'key_id' | 'tenant' | 'tool'>;

export class BlockCounter {
  /** Complete counts handed out (each for a block-closing append). */
  used = 0;
  // The open block's committed entries, as the fields a summary needs, one array each: appended per entry (no object,
  // no hashing on the write path), counted once, when the block closes.
  private open: { block: number; lastSeq: number; broken: boolean; at: string[]; key: (string | null)[]; tenant: (string | null)[]; tool: (string | null)[]; call: boolean[] } | undefined;

  /** One committed entry of this process, in commit order. */
  add(row: Counted): void {
    const block = Math.floor(row.seq / BLOCK);
    if (this.open?.block !== block) this.open = { block, lastSeq: -1, broken: false, at: [], key: [], tenant: [], tool: [], call: [] };
    const o = this.open;
    if (row.seq <= o.lastSeq) o.broken = true;
    o.lastSeq = row.seq;
    o.at.push(row.at);
    o.key.push(row.key_id);
    o.tenant.push(row.tenant);
    o.tool.push(row.tool);
    o.call.push(isCall(row));
  }

  /**
   * The counts of the block `closing` ends, with the entries of the open transaction (`pending`, in order, then
   * `closing` itself) added to what has committed; undefined when they do not cover every entry of the block.
   */
  complete(pending: readonly Counted[], closing: Counted): BlockCounts | undefined {
    const block = Math.floor(closing.seq / BLOCK);
    const base = this.open?.block === block ? this.open : undefined;
    // Block 0 starts at seq 1 (a row given seq 0 by hand would make the count differ from the log): it is read.
    if (block === 0 || base?.broken) return undefined;
    // This transaction's entries of the block (pending may still hold the previous block's last ones), in order.
    const open = [...pending, closing].filter((row) => Math.floor(row.seq / BLOCK) === block);
    let last = base?.lastSeq ?? -1;
    let entries = base?.at.length ?? 0;
    for (const row of open) {
      if (row.seq <= last) return undefined;
      last = row.seq;
      entries++;
    }
    if (entries !== BLOCK) return undefined;
    const c = empty(block, closing.at);
    if (base) for (let i = 0; i < base.at.length; i++) count(c, base.at[i]!, base.key[i] ?? null, base.tenant[i] ?? null, base.tool[i] ?? null, base.call[i] === true);
    for (const row of open) count(c, row.at, row.key_id, row.tenant, row.tool, isCall(row));
    this.used++;
    return c;
  }
}

function empty(block: number, at: string): BlockCounts {
  return { block, entries: 0, firstAt: at, lastAt: at, facets: new Map(), calls: new Map() };
}

function count(c: BlockCounts, at: string, key: string | null, tenant: string | null, tool: string | null, call: boolean): void {
  c.entries++;
  if (at < c.firstAt) c.firstAt = at;
  if (at > c.lastAt) c.lastAt = at;
  tally(c, 'key', key);
  tally(c, 'tenant', tenant);
  tally(c, 'tool', tool);
  if (call && key !== null) {
    const k = c.calls.get(key);
    if (!k) c.calls.set(key, { calls: 1, lastAt: at });
    else {
      k.calls++;
      if (at > k.lastAt) k.lastAt = at;
    }
  }
}

function tally(c: BlockCounts, facet: Facet, value: string | null): void {
  if (value === null) return;
  let m = c.facets.get(facet);
  if (!m) c.facets.set(facet, (m = new Map()));
  m.set(value, (m.get(value) ?? 0) + 1);
}
