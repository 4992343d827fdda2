// The CLI's flag parsing: a command whose parser takes a flag its schema does not read fails at once, naming the flag,
// instead of dropping it in silence (policy simulate once dropped --store and read the data directory's SQLite file).
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dataDir, dataDirFlag, parseFlags, storeField, UsageError } from '../../src-main/cli/args.ts';

describe('parseFlags', () => {
  it('reads the flags a schema names; a flag taken but not read is a defect of the command, named', () => {
    expect(parseFlags(['--data-dir', 'D', '--store', 'postgres://h/db'], dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField })).flags)
      .toEqual({ 'data-dir': 'D', store: 'postgres://h/db' });
    expect(() => parseFlags(['--data-dir', 'D'], dataDirFlag, z.object({ 'data-dir': dataDir }))).toThrow('the command accepts --store but does not read it');
    // A user's mistakes stay usage errors.
    expect(() => parseFlags(['--nope'], dataDirFlag, z.object({ 'data-dir': dataDir, ...storeField }))).toThrow(UsageError);
    expect(() => parseFlags(['--store', 'mysql://x'], dataDirFlag, z.object({ 'data-dir': dataDir.optional(), ...storeField }))).toThrow(/must be a postgres:\/\/ URL/);
  });
});
