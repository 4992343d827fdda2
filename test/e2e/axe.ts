// axe-core (WCAG 2.1 A and AA rules) over one page state, in the light and the dark theme, with reduced motion
// (no row flash mid-animation). Each state's result goes to test-results/axe.txt; the spec asserts there are none.
// axe is injected into the page once per document and asked for violations only (several times faster than a full report).
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AxeResults, RunOptions } from 'axe-core';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const OPTIONS: RunOptions = { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] };
type Found = { violations: { id: string; impact: string | null; help: string; nodes: { target: string[]; summary: string }[] }[]; passed: number };

async function runAxe(page: Page): Promise<Found> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  return page.evaluate(async (options) => {
    const r: AxeResults = await (window as unknown as { axe: { run(ctx: Document, o: RunOptions): Promise<AxeResults> } }).axe.run(document, options);
    return {
      violations: r.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target.map(String), summary: n.failureSummary ?? '' })) })),
      passed: r.passes.length,
    };
  }, OPTIONS);
}

export async function expectAccessible(page: Page, state: string): Promise<void> {
  mkdirSync('test-results', { recursive: true });
  const found: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme, reducedMotion: 'reduce' });
    const r = await runAxe(page);
    const nodes = r.violations.reduce((n, v) => n + v.nodes.length, 0);
    appendFileSync('test-results/axe.txt', `${state} (${scheme}): ${r.violations.length} violations on ${nodes} nodes, ${r.passed} rules passed\n`);
    for (const v of r.violations) {
      found.push(`${state} (${scheme}): ${v.id} [${v.impact}] ${v.help} (${v.nodes.length} nodes)\n${v.nodes.slice(0, 6)
        .map((n) => `    ${n.target.join(' ')}: ${n.summary.split('\n').slice(1).join(' ').trim()}`).join('\n')}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
  test.info().annotations.push({ type: 'axe', description: `${state}: ${found.length} violations` });
  expect.soft(found, `axe violations in "${state}"`).toEqual([]);
}
