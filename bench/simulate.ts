// The policy simulator's speed: a generated history of 50,000 tool calls (bench/simHistory.ts) replayed under a draft
// that changes every kind of decision. The history is made through the gate at full speed (its timestamps are close
// together; the replay's cost does not depend on them). Median of three runs.
import { openApp } from '../src-main/app.ts';
import { PolicySimulator } from '../src-main/governance/simulate.ts';
import { generateHistory, simulationDraft, simulationFleet, storedCalls } from './simHistory.ts';

export async function simulationBench(say: (line?: string) => void, entries = 50_000): Promise<void> {
  const fleet = await simulationFleet();
  const app = await openApp(fleet.dir, { env: { COUNTERSIGN_READ_PER_MINUTE: '100000', COUNTERSIGN_WRITE_PER_MINUTE: '100000' }, log: () => {} });
  try {
    const t0 = performance.now();
    await generateHistory(app.gate, fleet, { entries, seed: 0x51a, start: Date.now(), batch: 16, stored: () => storedCalls(app.db) });
    const made = performance.now() - t0;
    // The history's timestamps are close together here: budgets as high as the history's, so calls are decided on their
    // merits (tiers, bulk window, ticket, grants), the costly path, rather than throttled.
    const base = simulationDraft(fleet);
    const draft = { ...base, values: { ...base.values, defaultReadPerMinute: 100_000, defaultWritePerMinute: 100_000 } };
    const runs: number[] = [];
    let report;
    for (let i = 0; i < 3; i++) {
      report = await new PolicySimulator(app.gate).run(draft, { days: 1 });
      runs.push(report.ms);
    }
    const median = [...runs].sort((a, b) => a - b)[1]!;
    say('## Policy simulation');
    say();
    say(`${report!.entries} tool calls (made through the gate in ${(made / 1000).toFixed(1)} s) replayed under a draft that changes the allowlist, `
      + `admin-only, the bulk window, three tier overrides, a ticket requirement and five grants: median ${median.toFixed(0)} ms `
      + `(runs: ${runs.map((r) => r.toFixed(0)).join(', ')} ms; target under 2,000 ms), ${Math.round(report!.entries / (median / 1000)).toLocaleString('en')} calls/s.`);
    say(`Outcomes as recorded ${JSON.stringify(report!.before)}, under the draft ${JSON.stringify(report!.after)}.`);
    say();
  } finally {
    app.close();
  }
}

if (import.meta.main) await simulationBench((l = '') => console.log(l), Number(process.env.BENCH_SIM_ENTRIES ?? 50_000));
