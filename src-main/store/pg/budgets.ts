// Key budgets every node shares (team mode): the token bucket of rateLimiter.ts kept in rate_buckets and taken in one
// statement (countersign_take, under the bucket's row lock, on the database's clock), so a key's per-minute budget is
// one budget however many nodes its calls reach. One round trip a call, outside any write transaction; a peek only reads.
import type { Budget, Budgets, TakeResult } from '../../governance/rateLimiter.ts';
import type { Sql } from '../sql.ts';

export function sharedBudgets(sql: Sql): Budgets {
  const take = async (id: string, limitPerMinute: number, cost: number) =>
    (await sql.get<{ ok: boolean; tokens: number }>('SELECT ok, tokens FROM countersign_take(?, ?, ?)', [id, limitPerMinute, cost]))!;
  return {
    async take(id: string, limitPerMinute: number, cost = 1): Promise<TakeResult> {
      const r = await take(id, limitPerMinute, cost);
      if (r.ok) return { ok: true, remaining: Math.floor(r.tokens) };
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((cost - r.tokens) * 60) / limitPerMinute)) };
    },
    // A read: no row lock and no write (whoami and the console peek at every key's budgets), refilled on the database's clock.
    async peek(id: string, limitPerMinute: number): Promise<Budget> {
      const b = await sql.get<{ tokens: number; at_ms: number; lim: number; now_ms: number }>(
        'SELECT tokens, at_ms, lim, floor(extract(epoch FROM clock_timestamp()) * 1000) AS now_ms FROM rate_buckets WHERE id = ?', [id]);
      if (!b || Number(b.lim) !== limitPerMinute) return { limitPerMinute, remaining: limitPerMinute };
      const tokens = Math.min(limitPerMinute, Number(b.tokens) + (Math.max(0, Number(b.now_ms) - Number(b.at_ms)) / 60_000) * limitPerMinute);
      return { limitPerMinute, remaining: Math.floor(tokens) };
    },
  };
}
