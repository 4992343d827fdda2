import { describe, expect, it } from 'vitest';
import { redact } from '../../src-main/audit/redact.ts';

describe('audit redaction', () => {
  it('blanks secrets by field name, at any depth', () => {
    expect(redact({ password: 'p', nested: { apiKey: 'k', list: [{ Authorization: 'Bearer x', cookie: 'c' }] }, token: 't', clientSecret: 's' })).toEqual({
      password: '[redacted]', nested: { apiKey: '[redacted]', list: [{ Authorization: '[redacted]', cookie: '[redacted]' }] }, token: '[redacted]', clientSecret: '[redacted]',
    });
  });

  it('keeps the ids of secrets, which name them without revealing them', () => {
    expect(redact({ tokenId: 'a1', api_key_id: 'k1', tokenIds: ['a', 'b'], secretID: 'x' })).toEqual({ tokenId: 'a1', api_key_id: 'k1', tokenIds: ['a', 'b'], secretID: 'x' });
  });

  it('bounds strings, arrays and depth', () => {
    const r = redact({ s: 'x'.repeat(9000), a: Array.from({ length: 250 }, (_, i) => i) }) as { s: string; a: unknown[] };
    expect(r.s).toMatch(/…\[truncated 808 chars\]$/);
    expect(r.a).toHaveLength(201);
    expect(r.a[200]).toBe('[truncated 50 items]');
    let deep: unknown = 'bottom';
    for (let i = 0; i < 12; i++) deep = { d: deep };
    expect(JSON.stringify(redact(deep))).toContain('[nested too deep]');
  });
});
