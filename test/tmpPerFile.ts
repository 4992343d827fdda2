// Vitest setup file (runs in the worker before each test file): the file's own temporary folder inside the run's
// (test/helpers/tmpRoot.ts), removed once the file's own afterAll hooks have stopped its servers and agents.
import { afterAll } from 'vitest';
import { enterTmpFolder, removeTmpFolder } from './helpers/tmpRoot.ts';

const dir = enterTmpFolder('cs-file-');
afterAll(() => removeTmpFolder(dir));

