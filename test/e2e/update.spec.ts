// The desktop console's "update available" notice, over a stand-in desktop bridge that forwards to the web API:
// shown from the session when the console loads, and when the main process pushes update.available later.
// Web mode runs no update check and shows nothing.
import { expect, test } from './fixtures.ts';

/** Runs in the page: window.countersign as the preload would expose it, and window.pushEvent to play the main process. */
function desktopBridge(initial: { version: string } | null) {
  const listeners: ((e: unknown) => void)[] = [];
  (window as unknown as { pushEvent: (e: unknown) => void }).pushEvent = (e) => listeners.forEach((l) => l(e));
  const call = async (method: string, input: unknown) => {
    const res = await fetch(`/console/api/rpc/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(input ?? {}) });
    const result = ((await res.json()) as { result: Record<string, unknown> }).result;
    return { ok: true, value: method === 'session' ? { ...result, mode: 'desktop', expiresAt: null, update: initial } : result };
  };
  (window as unknown as { countersign: unknown }).countersign = new Proxy({}, {
    get: (_t, name: string) => (name === 'onEvent'
      ? (l: (e: unknown) => void) => {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      }
      : (input?: unknown) => call(name, input)),
  });
}

test('the desktop console shows "update available" when the main process pushes it', async ({ signedIn: page }) => {
  await page.addInitScript(desktopBridge, null);
  await page.goto('/#/live');
  await expect(page.getByText(/ · desktop$/)).toBeVisible();
  await expect(page.getByTestId('update-notice')).toHaveCount(0);
  await page.evaluate(() => (window as unknown as { pushEvent: (e: unknown) => void }).pushEvent({ type: 'update.available', version: '9.9.9' }));
  await expect(page.getByRole('status').filter({ hasText: 'Update available: version 9.9.9' })).toBeVisible();
});

test('a console that opens after the check reads the update from the session', async ({ signedIn: page }) => {
  await page.addInitScript(desktopBridge, { version: '9.9.9' });
  await page.goto('/#/live');
  await expect(page.getByTestId('update-notice')).toHaveText('Update available: version 9.9.9');
});

test('web mode has no update notice', async ({ signedIn: page }) => {
  await page.goto('/#/live');
  await expect(page.getByText(/ · web console$/)).toBeVisible();
  await expect(page.getByTestId('update-notice')).toHaveCount(0);
});
