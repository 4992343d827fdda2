// The approval card does exactly what the focused control says: Enter and Space act on the focused button only,
// the armed approve is confirmed only by `a` or the focused Approve button, Esc backs out from anywhere in the card.
// Every key on every focused control of a card, in each of its three states, against the real server.
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Locator, Page, Request } from '@playwright/test';
import { budget, expect, test } from './fixtures.ts';
import { approvalStatus, clearQueue, openQueue, requestApproval, requestScript, setupApprovals } from './queue.ts';

let client: Client;
test.beforeAll(async () => {
  client = await setupApprovals();
});
test.afterAll(async () => {
  await client.close();
});

const ARMED = 'Press a or Enter to approve';

/** Selects the card by a click on its edge and arms it with `a`: the Approve button then has the focus. */
async function arm(page: Page, card: Locator): Promise<void> {
  await card.click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('a');
  await expect(card.getByTestId('approve')).toHaveText(ARMED);
  await expect(card.getByTestId('approve')).toBeFocused();
}

test('Enter on "Deny…" of an armed card opens the deny form and never approves', async ({ signedIn: page }) => {
  await clearQueue(page);
  const id = await requestApproval(client, 'enter on deny');
  const card = await openQueue(page, id);
  await arm(page, card);
  await card.getByTestId('deny').focus();
  await page.keyboard.press('Enter');
  await expect(card.getByLabel(/Reason for the model/)).toBeFocused();
  expect(await approvalStatus(client, id)).toBe('pending');
  // And the deny goes through from there.
  await page.keyboard.type('Backing out with the keyboard.');
  await page.keyboard.press('Enter');
  await expect(card).toBeHidden();
  expect(await approvalStatus(client, id)).toBe('denied');
});

test('Enter on "Cancel (Esc)" of an armed card disarms it and never approves', async ({ signedIn: page }) => {
  await clearQueue(page);
  const id = await requestApproval(client, 'enter on cancel');
  const card = await openQueue(page, id);
  await arm(page, card);
  const cancel = card.getByRole('button', { name: 'Cancel (Esc)' });
  await cancel.focus();
  await page.keyboard.press('Enter');
  await expect(card.getByTestId('approve')).toHaveText('Approve');
  await expect(cancel).toBeHidden();
  await expect(card).toBeFocused();
  expect(await approvalStatus(client, id)).toBe('pending');
});

// ---- the whole matrix -------------------------------------------------------------------------------------------

const KEYS = ['Enter', 'Space', 'Escape', 'a', 'd', 'j', 'k'] as const;
type Key = (typeof KEYS)[number];
type Outcome = 'none' | 'approve' | 'deny' | 'denyForm' | 'closeForm' | 'arm' | 'disarm' | 'stayArmed' | 'next' | 'prev' | 'copied' | 'toggle' | 'typed' | 'grantForm';
type State = 'idle' | 'armed' | 'denying';
const row = (...o: Outcome[]) => Object.fromEntries(KEYS.map((k, i) => [k, o[i]!])) as Record<Key, Outcome>;

const CONTROLS: Record<string, (card: Locator) => Locator> = {
  card: (c) => c,
  Approve: (c) => c.getByTestId('approve'),
  'Deny…': (c) => c.getByTestId('deny'),
  'Approve and allow similar…': (c) => c.getByTestId('approve-grant'),
  'Cancel (Esc)': (c) => c.getByRole('button', { name: 'Cancel (Esc)' }),
  'Copy hash': (c) => c.getByRole('button', { name: 'Copy hash' }),
  'script body': (c) => c.getByRole('region', { name: /^Body of/ }),
  'Exact arguments': (c) => c.locator('summary', { hasText: 'Exact arguments' }),
  'reason field': (c) => c.getByLabel(/Reason for the model/),
  'Deny request': (c) => c.getByRole('button', { name: 'Deny request' }),
  Cancel: (c) => c.getByRole('button', { name: 'Cancel', exact: true }),
};

const MATRIX: Record<State, Record<string, Record<Key, Outcome>>> = {
  //                          Enter        Space        Escape       a           d           j       k
  idle: {
    card: row('none', 'none', 'none', 'arm', 'denyForm', 'next', 'prev'),
    Approve: row('approve', 'approve', 'none', 'arm', 'denyForm', 'next', 'prev'),
    'Deny…': row('denyForm', 'denyForm', 'none', 'arm', 'denyForm', 'next', 'prev'),
    // It opens the grant dialog (on Cancel); it never approves by itself.
    'Approve and allow similar…': row('grantForm', 'grantForm', 'none', 'arm', 'denyForm', 'next', 'prev'),
    'Copy hash': row('copied', 'copied', 'none', 'arm', 'denyForm', 'next', 'prev'),
    'script body': row('none', 'none', 'none', 'arm', 'denyForm', 'next', 'prev'),
    'Exact arguments': row('toggle', 'toggle', 'none', 'arm', 'denyForm', 'next', 'prev'),
  },
  armed: {
    card: row('stayArmed', 'stayArmed', 'disarm', 'approve', 'denyForm', 'next', 'prev'),
    Approve: row('approve', 'approve', 'disarm', 'approve', 'denyForm', 'next', 'prev'),
    'Deny…': row('denyForm', 'denyForm', 'disarm', 'approve', 'denyForm', 'next', 'prev'),
    'Cancel (Esc)': row('disarm', 'disarm', 'disarm', 'approve', 'denyForm', 'next', 'prev'),
    'Approve and allow similar…': row('grantForm', 'grantForm', 'disarm', 'approve', 'denyForm', 'next', 'prev'),
    'Copy hash': row('copied', 'copied', 'disarm', 'approve', 'denyForm', 'next', 'prev'),
    'script body': row('stayArmed', 'stayArmed', 'disarm', 'approve', 'denyForm', 'next', 'prev'),
    'Exact arguments': row('toggle', 'toggle', 'disarm', 'approve', 'denyForm', 'next', 'prev'),
  },
  // The deny form holds a reason; in its text field every character is text, never a shortcut.
  denying: {
    'reason field': row('deny', 'typed', 'closeForm', 'typed', 'typed', 'typed', 'typed'),
    'Deny request': row('deny', 'deny', 'closeForm', 'none', 'none', 'none', 'none'),
    Cancel: row('closeForm', 'closeForm', 'closeForm', 'none', 'none', 'none', 'none'),
  },
};

/** Three cards (reboot, script, reboot): the script card in the middle is the one under test. */
class Queue {
  ids: [string, string, string] | null = null;
  decisions: string[] = [];
  readonly page: Page;
  constructor(page: Page) {
    this.page = page;
    page.on('request', (r: Request) => {
      if (/\/rpc\/(approve|deny)$/.test(r.url())) this.decisions.push(r.url());
    });
  }

  cards(): [Locator, Locator, Locator] {
    return this.ids!.map((id) => this.page.locator(`[data-approval-id="${id}"]`)) as [Locator, Locator, Locator];
  }

  /** A fresh queue when the last case decided the card; otherwise the same cards, the list remounted (no armed state, no form). */
  async reset(): Promise<[Locator, Locator, Locator]> {
    const { page } = this;
    if (!this.ids) {
      await clearQueue(page);
      this.ids = [await requestApproval(client, 'before'), await requestScript(client, 'under test'), await requestApproval(client, 'after')];
    }
    // Through the History tab and back: the pending list mounts anew.
    await page.getByRole('tab', { name: 'History' }).click();
    await expect(page.locator('article.approval')).toHaveCount(0);
    await page.getByRole('tab', { name: /Pending/ }).click();
    await expect(page.locator('article.approval')).toHaveCount(3);
    expect(await page.locator('article.approval').evaluateAll((els) => els.map((e) => e.getAttribute('data-approval-id')))).toEqual(this.ids);
    this.decisions = [];
    return this.cards();
  }

  async enter(state: State, card: Locator): Promise<void> {
    if (state === 'armed') await arm(this.page, card);
    if (state === 'denying') {
      await card.focus();
      await this.page.keyboard.press('d');
      await expect(card.getByLabel(/Reason for the model/)).toBeFocused();
      await this.page.keyboard.type('Not now');
    }
  }
}

async function check(q: Queue, state: State, key: Key, outcome: Outcome): Promise<void> {
  const { page } = q;
  const [before, card, after] = q.cards();
  const approve = card.getByTestId('approve');
  const reason = card.getByLabel(/Reason for the model/);
  switch (outcome) {
    case 'approve':
    case 'deny':
      await expect(card).toBeHidden();
      expect(await approvalStatus(client, q.ids![1])).toBe(outcome === 'approve' ? 'running' : 'denied');
      // Focus moves on to the next card.
      await expect(after).toBeFocused();
      q.ids = null;
      return;
    case 'none':
      if (state === 'denying') await expect(reason).toBeVisible();
      else await expect(approve).toHaveText('Approve');
      break;
    case 'stayArmed':
      await expect(approve).toHaveText(ARMED);
      break;
    case 'arm':
      await expect(approve).toHaveText(ARMED);
      await expect(approve).toBeFocused();
      break;
    case 'disarm':
      await expect(approve).toHaveText('Approve');
      await expect(card.getByRole('button', { name: 'Cancel (Esc)' })).toHaveCount(0);
      break;
    case 'denyForm':
      await expect(reason).toBeFocused();
      break;
    case 'closeForm':
      await expect(reason).toHaveCount(0);
      await expect(card.getByTestId('deny')).toBeFocused();
      break;
    case 'next':
    case 'prev': {
      const to = outcome === 'next' ? after : before;
      await expect(to).toBeFocused();
      await expect(to).toHaveAttribute('aria-current', 'true');
      await expect(card).not.toHaveAttribute('aria-current', /.*/);
      await expect(approve).toHaveText('Approve');
      break;
    }
    case 'copied':
      await expect(card.getByRole('button', { name: 'Copied', exact: true })).toBeVisible();
      await expect(approve).toHaveText(state === 'armed' ? ARMED : 'Approve');
      break;
    case 'toggle':
      await expect(card.locator('details', { has: page.locator('summary', { hasText: 'Exact arguments' }) })).toHaveAttribute('open', '');
      await expect(approve).toHaveText(state === 'armed' ? ARMED : 'Approve');
      break;
    case 'typed':
      await expect(reason).toHaveValue(`Not now${key === 'Space' ? ' ' : key}`);
      break;
    case 'grantForm': {
      // The dialog opens on Cancel and disarms the card; Esc closes it with nothing decided.
      const dialog = page.getByRole('dialog', { name: 'Approve and allow similar calls' });
      await expect(dialog).toBeVisible();
      await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
      await page.keyboard.press('Escape');
      await expect(dialog).toBeHidden();
      await expect(approve).toHaveText('Approve');
      break;
    }
  }
  // Nothing was decided: no approve or deny left the page (a round trip orders its request events before this check),
  // and the server still has the request pending.
  await page.evaluate(() => 0);
  expect(q.decisions, `${state} · ${key}`).toEqual([]);
  expect(await approvalStatus(client, q.ids![1])).toBe('pending');
}

for (const state of ['idle', 'armed', 'denying'] as const) {
  test(`every key on every control of a card, ${state}`, async ({ signedIn: page }) => {
    test.setTimeout(budget(180_000));
    await page.goto('/#/approvals');
    const q = new Queue(page);
    for (const [control, keys] of Object.entries(MATRIX[state])) {
      for (const key of KEYS) {
        await test.step(`${control} · ${key} → ${keys[key]}`, async () => {
          const [, card] = await q.reset();
          await q.enter(state, card);
          await CONTROLS[control]!(card).focus();
          await page.keyboard.press(key);
          await check(q, state, key, keys[key]);
        });
      }
    }
    await clearQueue(page);
  });
}

test('arrow keys move the selection from a card, and scroll a focused code block instead', async ({ signedIn: page }) => {
  await page.goto('/#/approvals');
  const q = new Queue(page);
  const [before, card, after] = await q.reset();
  await card.focus();
  await page.keyboard.press('ArrowDown');
  await expect(after).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await expect(before).toBeFocused();
  const body = CONTROLS['script body']!(card);
  await body.focus();
  await page.keyboard.press('ArrowDown');
  await expect.poll(() => body.evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
  await expect(body).toBeFocused();
  await expect(card).toHaveAttribute('aria-current', 'true');
  // The deny form: Enter with no reason does nothing; Shift+Enter is a new line.
  await page.keyboard.press('d');
  const reason = card.getByLabel(/Reason for the model/);
  await page.keyboard.press('Enter');
  await expect(reason).toBeFocused();
  await page.keyboard.type('line one');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('line two');
  await expect(reason).toHaveValue('line one\nline two');
  await page.evaluate(() => 0);
  expect(q.decisions).toEqual([]);
  await clearQueue(page);
});
