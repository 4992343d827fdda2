import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { slowdown, SLOWDOWN_ENV } from './test/helpers/slowdown.ts';

// Measured once here; workers and the processes they start read it back from the environment (test/helpers/wait.ts).
const factor = slowdown();
console.log(`test budgets ×${factor} (${SLOWDOWN_ENV}; measured unless set)`);

// The suites start hundreds of Node processes (CLI, serve, agents): Node's compile cache lets each one skip compiling
// the modules the previous ones already compiled. Workers and their children inherit it through the environment.
process.env.NODE_COMPILE_CACHE ??= join(import.meta.dirname, 'node_modules/.cache/countersign-tests/node-compile-cache');
// Passphrases at scrypt 2^10, not the product's 2^15: the suites derive hundreds (every console login, every init), 40 s
// of CPU a run at full cost. The KDF's own tests, and the CLI's check of what init stores, use the product's cost.
process.env.COUNTERSIGN_PASSPHRASE_COST_LOG2 ??= '10';

/**
 * The long files, first. The agent-channel campaigns lead, each beside a file that mostly waits (their heartbeats and
 * deadlines are what they test, so they never share the machine with the CPU-bound simulation); then the policy
 * simulation's exactness test, the largest CPU cost of the run (two 50,000-call replays through the gate: it must start
 * early, or it becomes the tail of the run); then the other long files by the CPU each takes (user + system of the
 * worker and every process it starts, measured one file at a time: on this 2-core machine CPU, not waiting, sets the
 * pace). The rest follow in Vitest's own order (longest first once it has timings of a previous run).
 */
const LONG_FILES = [
  'test/faults/badInput.test.ts',
  'test/faults/agentChannel.test.ts',
  'test/electron/packaging.test.ts',
  'test/agent/lifecycle.test.ts',
  'test/faults/agentBadInput.test.ts',
  'test/agent/enrollment.test.ts',
  'test/governance/simulateExact.test.ts',
  'test/faults/auditFlood.test.ts',
  'test/clients/conformance.test.ts',
  'test/clients/inspector.test.ts',
  'test/agent/executable.test.ts',
  'test/faults/kill9.test.ts',
  'test/electron/boot.test.ts',
  'test/clients/conformance2026.test.ts',
  'test/agent/refusals.test.ts',
  'test/agent/endToEnd.test.ts',
  'test/agentBuild/build.test.ts',
  'test/cli/cli.test.ts',
  'test/audit/verifyCli.test.ts',
  'test/governance/approvals.test.ts',
  'test/team/migrate.test.ts',
  'test/team/kill9Nodes.test.ts',
  'test/governance/denials.test.ts',
  'test/faults/dataDir.test.ts',
  'test/clients/sdkClient.test.ts',
  'test/team/nodes.test.ts',
];

class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONG_FILES.indexOf(relative(import.meta.dirname, f.moduleId));
      return i < 0 ? LONG_FILES.length : i;
    };
    const rest = await super.sort(files.filter((f) => rank(f) === LONG_FILES.length));
    return [...files.filter((f) => rank(f) < LONG_FILES.length).sort((a, b) => rank(a) - rank(b)), ...rest];
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One PostgreSQL for the run (team mode): see test/globalSetup.ts.
    globalSetup: ['test/globalSetup.ts'],
    // Each file's temporary folder, removed after it (test/helpers/tmpRoot.ts); each file's CPU, when asked (test/cpuPerFile.ts).
    setupFiles: ['test/tmpPerFile.ts', 'test/cpuPerFile.ts'],
    testTimeout: 30_000 * factor,
    hookTimeout: 30_000 * factor,
    pool: 'forks',
    // A worker runs its files one after another in one process instead of a new process per file: 121 Node starts,
    // each loading Vitest and the product's modules again, were 34 s of CPU (Vitest alone, quiet: 528 → 494 s of CPU
    // for the machine, 328 → 311 s). Files restore what they change (TMPDIR: test/tmpPerFile.ts; fake timers; env).
    isolate: false,
    // One worker more than the cores. Some long files mostly wait on purpose (heartbeats, leases, a script's time limit:
    // the agent channel's campaign holds its worker 96 s for 23 s of CPU), and the extra worker keeps the cores busy
    // meanwhile. Whole npm test on this 2-core machine, same checkout, quiet: 343 and 392 s with 2 workers, 303 s with 3;
    // with the other core busy (npm run test:loaded): 7:02 with 2, 7:12 with 3, both passing. (On an earlier, slower
    // machine, a third worker measured slower: 7:34 against 6:52.) COUNTERSIGN_TEST_WORKERS sets another count.
    maxWorkers: Number(process.env.COUNTERSIGN_TEST_WORKERS ?? availableParallelism() + 1),
    sequence: { sequencer: LongFilesFirst },
    // CI also writes a JSON report; .ci/summary.mjs sums it with the other runners into one closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.ci/vitest.json' }]] : ['default'],
  },
});
