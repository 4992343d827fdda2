// The same renderer with a desktop bridge: when window.countersign exists (the Electron preload's ConsoleApi + onEvent),
// the console uses it instead of HTTP, needs no sign-in, and shows the main process's errors cleanly.
// Here a stand-in bridge in the page forwards to the web API and answers Replies as the main process does, failing
// verifyAudit with a refusal.
import { devices, expect, mcpClient, structured, test } from './fixtures.ts';

test('with window.countersign the console runs in desktop mode over the bridge', async ({ signedIn: page }) => {
  await page.addInitScript(() => {
    const call = async (method: string, input: unknown) => {
      if (method === 'verifyAudit') return { ok: false, error: { status: 500, code: 'INTERNAL', message: 'disk I/O error' } };
      const res = await fetch(`/console/api/rpc/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(input ?? {}) });
      const body = await res.json() as { result?: unknown; error?: { message: string; data?: unknown } };
      if (!res.ok) return { ok: false, error: body.error?.data ?? { status: res.status, code: 'INTERNAL', message: body.error?.message } };
      const result = body.result as Record<string, unknown>;
      return { ok: true, value: method === 'session' ? { ...result, mode: 'desktop', expiresAt: null } : result };
    };
    const bridge = new Proxy({} as Record<string, unknown>, {
      get(_t, name: string) {
        if (name === 'onEvent') {
          return (listener: (e: unknown) => void) => {
            const es = new EventSource('/console/api/events');
            es.onmessage = (m) => listener(JSON.parse(m.data as string));
            return () => es.close();
          };
        }
        return (input?: unknown) => call(name, input);
      },
    });
    (window as unknown as { countersign: unknown }).countersign = bridge;
  });
  await page.goto('/#/approvals');
  await expect(page.getByText(/^v[\d.]+ · desktop$/)).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Approvals' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toHaveCount(0);

  const client = await mcpClient();
  const [d] = await devices(client, 'northwind-legal', 'windows');
  const p = structured<{ approvalId: string }>(await client.callTool({ name: 'device_actions', arguments: { action: 'reboot', deviceIds: [d!.id] } }));
  const card = page.locator(`[data-approval-id="${p.approvalId}"]`);
  await expect(card).toBeVisible();
  await card.getByTestId('deny').click();
  await card.getByLabel(/Reason for the model/).fill('Denied from the desktop bridge test.');
  await card.getByRole('button', { name: 'Deny request' }).click();
  await expect(card).toBeHidden();
  expect(structured<{ reason: string }>(await client.callTool({ name: 'get_approval_status', arguments: { approvalId: p.approvalId } })).reason).toBe('Denied from the desktop bridge test.');

  await page.goto('/#/audit');
  await page.getByRole('button', { name: 'Verify chain' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Verify failed' })).toHaveText(/^Verify failed: disk I\/O error/);
  await client.close();
});
