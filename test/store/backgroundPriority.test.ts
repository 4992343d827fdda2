import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { YIELD_TO_REQUESTS } from '../../src-main/store/backgroundPriority.ts';

// Field 19 of /proc/<task>/stat: the task's nice value (the fields after the parenthesised name start at 3).
const niceOf = (statPath: string) => Number(readFileSync(statPath, 'utf8').split(') ')[1]!.split(' ')[16]);
const linux = process.platform === 'linux';

describe('a background worker yields to request handling', () => {
  it.skipIf(!linux)('on Linux, its own thread takes the lowest priority and the process keeps its own (skipped elsewhere: a thread has no nice value of its own there)', async () => {
    const mine = niceOf('/proc/thread-self/stat');
    const worker = new Worker(`${YIELD_TO_REQUESTS}
      const { readFileSync } = require('node:fs');
      require('node:worker_threads').parentPort.postMessage(readFileSync('/proc/thread-self/stat', 'utf8'));`, { eval: true });
    const stat = await new Promise<string>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    expect(Number(stat.split(') ')[1]!.split(' ')[16])).toBe(19);
    // setpriority on "this process" changed only the worker's thread: the main thread (requests) is as it was.
    expect(niceOf('/proc/thread-self/stat')).toBe(mine);
    expect(niceOf('/proc/self/stat')).toBe(mine);
  });
});
