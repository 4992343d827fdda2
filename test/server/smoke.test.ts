import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { structured } from '../helpers/console.ts';
import { startTestServer, TRANSPORTS, type TestServer } from '../helpers/server.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t.close(); });

describe.each(TRANSPORTS)('over %s', (kind) => {
  it('lists tools and calls list_devices', async () => {
    const c = await t.connect(kind, await t.key());
    const { tools } = await c.listTools();
    expect(tools.map((x) => x.name)).toContain('list_devices');
    const r = await c.callTool({ name: 'list_devices', arguments: { limit: 5 } });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as { devices: unknown[]; total: number };
    expect(s.devices).toHaveLength(5);
    expect(s.total).toBe(12);
  });
});
