// Vitest setup file (runs in the worker before each test file): the file's own temporary folder inside the run's
// (test/helpers/tmpRoot.ts), removed once the file's own afterAll hooks have stopped its servers and agents. A worker
// runs several files one after another (vitest.config.ts: isolate off), so the run's folder is restored after each.
import { afterAll } from 'vitest';
import { enterTmpFolder, removeTmpFolder } from './helpers/tmpRoot.ts';

const outer = process.env.TMPDIR;
const dir = enterTmpFolder('cs-file-');
afterAll(() => {
  if (outer === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = outer;
  removeTmpFolder(dir);
});
