// axe-core (WCAG 2.1 A and AA rules) over one page state, in the light and the dark theme, with reduced motion
// (no row flash mid-animation). Each state's result goes to test-results/axe.txt; the spec asserts there are none.
import { appendFileSync, mkdirSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export async function expectAccessible(page: Page, state: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  const found: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
    const r = await new AxeBuilder({ page }).withTags(TAGS).analyze();
    const nodes = r.violations.reduce((n, v) => n + v.nodes.length, 0);
    appendFileSync('test-results/axe.txt', `${state} (${scheme}): ${r.violations.length} violations on ${nodes} nodes, ${r.passes.length} rules passed\n`);
    for (const v of r.violations) {
      found.push(`${state} (${scheme}): ${v.id} [${v.impact}] ${v.help} (${v.nodes.length} nodes)\n${v.nodes.slice(0, 6)
        .map((n) => `    ${n.target.join(' ')}: ${(n.failureSummary ?? '').split('\n').slice(1).join(' ').trim()}`).join('\n')}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
  test.info().annotations.push({ type: 'axe', description: `${state}: ${found.length} violations` });
  expect.soft(found, `axe violations in "${state}"`).toEqual([]);
}
