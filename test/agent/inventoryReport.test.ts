// The inventory as the agent collects it: in a child process of its own program (`agent inventory`), read back and
// checked against the protocol. The real command on this machine, then children that misbehave.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectInventoryInChild } from '../../src-main/agent/inventoryReport.ts';
import { InventoryReport } from '../../src-main/agent/protocol.ts';
import { MAIN, SAFE_CONFIG } from './harness.ts';
import { budget } from '../helpers/wait.ts';

const AGENT = [process.execPath, '--disable-warning=ExperimentalWarning', MAIN, 'agent'];
/** A stand-in child: a Node one-liner in place of `agent inventory`. */
const nodeChild = (code: string) => [process.execPath, '-e', code];

describe('the inventory child', () => {
  it('`agent inventory` reports this machine as the protocol wants it, with the hostname and configuration it is given', async () => {
    const config = join(mkdtempSync(join(tmpdir(), 'cs-inv-')), 'agent.json');
    writeFileSync(config, JSON.stringify({ ...SAFE_CONFIG, softwareList: { dpkg: ['printf', 'editor\t2.1\tSomeone\tii \nremoved\t1.0\tX\trc \n'] } }));
    const logged: string[] = [];
    const r = await collectInventoryInChild([...AGENT, 'inventory', '--config', config, '--hostname', 'front-desk-7'], (l) => logged.push(l), undefined, budget(60_000));
    expect(InventoryReport.parse(r)).toEqual(r);
    expect(r.facts).toMatchObject({ hostname: 'front-desk-7', os: 'linux' });
    expect(r.hardware.cpu.cores).toBeGreaterThan(0);
    expect(r.hardware.memoryGb).toBeGreaterThan(0);
    // The configured list command, parsed as dpkg's: only installed ('ii') packages.
    expect(r.software).toEqual([{ name: 'editor', version: '2.1', publisher: 'Someone' }]);
    expect(r.patches).toBeNull();
  }, budget(90_000));

  it('a child that fails, prints no JSON, prints a report that does not fit, or hangs: a clear error, its stderr in the log', async () => {
    const logged: string[] = [];
    const log = (l: string) => logged.push(l);
    await expect(collectInventoryInChild(nodeChild('console.error("dpkg-query: not found"); process.exit(3)'), log)).rejects.toThrow('the inventory process exited with code 3');
    expect(logged).toContain('inventory: dpkg-query: not found');
    await expect(collectInventoryInChild(nodeChild('console.log("Segmentation fault")'), log)).rejects.toThrow(/printed no JSON report/);
    await expect(collectInventoryInChild(nodeChild('console.log(JSON.stringify({ facts: { hostname: "x", os: "plan9", osVersion: "4", ip: null } }))'), log))
      .rejects.toThrow(/does not fit the protocol: facts\.os: .*; hardware: /);
    await expect(collectInventoryInChild(nodeChild('setInterval(() => {}, 1000)'), log, undefined, 300)).rejects.toThrow('did not finish within 1 s');
  }, budget(60_000));

  it('stopping the agent stops its inventory child', async () => {
    const stop = new AbortController();
    const pending = collectInventoryInChild(nodeChild('setInterval(() => {}, 1000)'), () => {}, stop.signal);
    stop.abort();
    await expect(pending).rejects.toThrow('the inventory process was stopped');
  }, budget(30_000));
});
