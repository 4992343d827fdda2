// Sums the JSON reports of every runner into the one closing line CI reads: "N passed, N failed".
// Runs on any Node (no dependencies). A runner that crashed before reporting counts as one failure.
import { existsSync, readFileSync } from 'node:fs';

const status = Number(process.argv[2] ?? 0);
let passed = 0;
let failed = 0;
let skipped = 0;
let reports = 0;

const vitest = new URL('./vitest.json', import.meta.url);
if (existsSync(vitest)) {
  const r = JSON.parse(readFileSync(vitest, 'utf8'));
  passed += r.numPassedTests;
  // A file that failed without any failing test (import error, crash in a hook) counts once; others are counted by test.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  failed += r.numFailedTests + brokenFiles;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  reports++;
}
const playwright = new URL('./playwright.json', import.meta.url);
if (existsSync(playwright)) {
  const s = JSON.parse(readFileSync(playwright, 'utf8')).stats ?? {};
  passed += (s.expected ?? 0) + (s.flaky ?? 0);
  failed += s.unexpected ?? 0;
  skipped += s.skipped ?? 0;
  reports++;
}
// A failing step with no failing test (install, typecheck, crashed runner) still must not read as green.
if (status !== 0 && failed === 0) failed = 1;
if (reports === 0 && status === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(status !== 0 || failed > 0 ? 1 : 0);
