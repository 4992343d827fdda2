// The passphrase KDF: the product's cost by default, a configured cost for new hashes, and a floor every stored hash
// must meet (a row rewritten with a cheaper N is refused without any scrypt work).
import { afterEach, describe, expect, it } from 'vitest';
import { COST_ENV, DEFAULT_COST_LOG2, hashPassphrase, passphraseCost, unmatchableHash, verifyPassphrase } from '../../src-main/auth/passphrase.ts';

const suiteCost = process.env[COST_ENV];
afterEach(() => {
  if (suiteCost === undefined) delete process.env[COST_ENV];
  else process.env[COST_ENV] = suiteCost;
});

describe('passphrase hashing', () => {
  it('uses scrypt N=2^15, r=8, p=1 unless told otherwise', async () => {
    delete process.env[COST_ENV];
    expect(DEFAULT_COST_LOG2).toBe(15);
    expect(passphraseCost()).toEqual({ N: 32768, r: 8, p: 1 });
    const h = await hashPassphrase('correct horse battery');
    expect(h).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(await verifyPassphrase('correct horse battery', h)).toBe(true);
    expect(await verifyPassphrase('correct horse batterY', h)).toBe(false);
  });

  it('writes new hashes at the configured cost and still verifies dearer ones', async () => {
    delete process.env[COST_ENV];
    const dear = await hashPassphrase('a long passphrase');
    process.env[COST_ENV] = '10';
    const cheap = await hashPassphrase('a long passphrase');
    expect(cheap).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(await verifyPassphrase('a long passphrase', cheap)).toBe(true);
    expect(await verifyPassphrase('a long passphrase', dear)).toBe(true);
  });

  it('refuses a stored hash under the floor, or of another shape, even with the right passphrase', async () => {
    process.env[COST_ENV] = '10';
    const cheap = await hashPassphrase('a long passphrase');
    process.env[COST_ENV] = '11';
    expect(await verifyPassphrase('a long passphrase', cheap)).toBe(false);
    process.env[COST_ENV] = '10';
    const [alg, n, r, p, salt, hash] = cheap.split('$');
    for (const bad of [
      [alg, n, '4', p, salt, hash], // another r
      [alg, n, r, '2', salt, hash], // another p
      [alg, String(2 ** 21), r, p, salt, hash], // a cost that would tie up the server
      [alg, '1023.5', r, p, salt, hash],
      [alg, n, r, p, salt, Buffer.alloc(16).toString('base64')], // a short hash
      ['bcrypt', n, r, p, salt, hash],
    ]) expect(await verifyPassphrase('a long passphrase', bad.join('$')), bad.join('$')).toBe(false);
  });

  it('refuses a cost setting out of range, with the setting named', () => {
    for (const v of ['9', '21', 'fast', '12.5']) {
      process.env[COST_ENV] = v;
      expect(() => passphraseCost()).toThrow(new RegExp(`${COST_ENV} must be an integer from 10 to 20`));
    }
  });

  it('a missing account costs the same work as a wrong passphrase: its stand-in hash is at the current cost', async () => {
    process.env[COST_ENV] = '12';
    expect(unmatchableHash()).toMatch(/^scrypt\$4096\$8\$1\$/);
    expect(await verifyPassphrase('anything at all', unmatchableHash())).toBe(false);
  });
});
