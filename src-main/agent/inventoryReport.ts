// What an agent reports as its inventory, and where it is collected: in a child process of the agent's own program
// (`agent inventory`), not in the agent's process. systeminformation reads network interfaces, DMI and dmesg with
// dozens of execSync calls: 0.4–1.5 s of blocked event loop per inventory on a 2-core machine, more under load. A
// blocked agent answers no heartbeat and takes no command; with 1 s heartbeats the console rightly dropped its link.
// The child's report crosses a process boundary, so it is checked as any agent message is.
import type { AgentConfig } from './config.ts';
import { runProcess } from './exec.ts';
import { collectHardware, collectSoftware, osName } from './inventory.ts';
import { scanPatches } from './patches.ts';
import { InventoryReport } from './protocol.ts';

/** A patch scan (apt's lists, Windows Update) can take minutes on a slow link; a child that hangs past this is killed. */
export const INVENTORY_TIMEOUT_MS = 15 * 60_000;
/** 20,000 programs and 5,000 updates at their longest fields stay well under this. */
const REPORT_MAX_BYTES = 64 * 1_048_576;

/** Collects the inventory in this process (what `agent inventory` runs). */
export async function collectInventory(config: AgentConfig, log: (line: string) => void, hostname?: string): Promise<InventoryReport> {
  const [{ facts, hardware }, software, patches] = await Promise.all([
    collectHardware(hostname), collectSoftware(osName(), config, log),
    config.patchScan ? scanPatches(osName(), config, log) : Promise.resolve(null),
  ]);
  return { facts, hardware, software, patches };
}

/**
 * Runs `argv` (the agent's own `inventory` command) and reads its report from its stdout. Its stderr lines are the
 * collectors' own log lines (a missing package manager, a failed scan): they go to `log`.
 */
export async function collectInventoryInChild(argv: string[], log: (line: string) => void, signal?: AbortSignal, timeoutMs = INVENTORY_TIMEOUT_MS): Promise<InventoryReport> {
  const r = await runProcess({ argv, timeoutMs, maxBytes: REPORT_MAX_BYTES, signal });
  for (const line of r.stderr.split('\n')) if (line.trim()) log(`inventory: ${line.slice(0, 500)}`);
  if (r.status === 'timed_out') throw new Error(`the inventory process did not finish within ${Math.ceil(timeoutMs / 1000)} s`);
  if (r.status !== 'completed') throw new Error(`the inventory process ${r.exitCode === null ? 'was stopped' : `exited with code ${r.exitCode}`}`);
  let raw: unknown;
  try {
    raw = JSON.parse(r.stdout);
  } catch {
    throw new Error(`the inventory process printed no JSON report (${r.stdout.length} bytes)`);
  }
  const report = InventoryReport.safeParse(raw);
  if (!report.success) throw new Error(`the inventory process printed a report that does not fit the protocol: ${report.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(report)'}: ${i.message}`).join('; ')}`);
  return report.data;
}
