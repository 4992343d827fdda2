// The requestState seal: AES-256-GCM under a key derived from the install secret, bound to key, session, request and
// an expiry. Whatever the client changes, or wherever it replays the state, it is refused with the reason recorded.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bindingKey } from '../../src-main/governance/binding.ts';
import { inputRequired, requestDigest, requestStateCodec, requestStateKey, retryParamsOf, RequestStateError } from '../../src-main/mcp/mrtr.ts';

const secret = randomBytes(32);
const bind = { keyId: 'key-1', session: '', request: requestDigest('tools/call', 'run_script', { deviceIds: ['a'], body: 'x' }) };
const reason = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RequestStateError);
    expect((e as RequestStateError).code).toBe(-32602);
    return (e as RequestStateError).reason;
  }
  throw new Error('expected a refusal');
};

describe('requestState', () => {
  it('opens what it sealed, for the same binding, and hides what it carries', () => {
    const codec = requestStateCodec(requestStateKey(secret));
    const state = codec.seal(bind, { approvalId: 'a1b2c3' });
    expect(codec.open(state, bind)).toEqual({ approvalId: 'a1b2c3' });
    expect(Buffer.from(state, 'base64url').toString('latin1')).not.toMatch(/a1b2c3|key-1/);
    // A fresh IV each time: two seals of the same data differ.
    expect(codec.seal(bind, { approvalId: 'a1b2c3' })).not.toBe(state);
  });

  it('refuses a flipped byte, a truncated or padded token and foreign alphabets (forged / malformed)', () => {
    const codec = requestStateCodec(requestStateKey(secret));
    const state = codec.seal(bind, { approvalId: 'x' });
    const raw = Buffer.from(state, 'base64url');
    for (const i of [1, 13, raw.length - 1]) {
      const b = Buffer.from(raw);
      b[i]! ^= 1;
      expect(reason(() => codec.open(b.toString('base64url'), bind)), `byte ${i}`).toBe('forged');
    }
    expect(reason(() => codec.open(state.slice(0, -4), bind))).toBe('forged');
    expect(reason(() => codec.open(`${state}AAAA`, bind))).toBe('forged');
    expect(reason(() => codec.open('not base64url!', bind))).toBe('malformed');
    expect(reason(() => codec.open('AQ', bind))).toBe('malformed');
    const v2 = Buffer.from(raw);
    v2[0] = 2;
    expect(reason(() => codec.open(v2.toString('base64url'), bind))).toBe('malformed');
    expect(reason(() => codec.open('A'.repeat(5000), bind))).toBe('malformed');
  });

  it('refuses a state sealed under another install, for another key or session, for another request, or past its expiry', () => {
    const codec = requestStateCodec(requestStateKey(secret));
    const state = codec.seal(bind, { approvalId: 'x' });
    expect(reason(() => requestStateCodec(requestStateKey(randomBytes(32))).open(state, bind))).toBe('forged');
    expect(reason(() => codec.open(state, { ...bind, keyId: 'key-2' }))).toBe('foreign');
    expect(reason(() => codec.open(state, { ...bind, session: 'a-session' }))).toBe('foreign');
    expect(reason(() => codec.open(state, { ...bind, request: requestDigest('tools/call', 'run_script', { deviceIds: ['b'], body: 'x' }) }))).toBe('other_request');
    let now = 1_000;
    const clocked = requestStateCodec(requestStateKey(secret), 60_000, () => now);
    const short = clocked.seal(bind, {});
    now += 59_999;
    expect(clocked.open(short, bind)).toEqual({});
    now += 1;
    expect(reason(() => clocked.open(short, bind))).toBe('expired');
  });

  it('derives its own key from the install secret (not the approval-binding key), and only from 32 bytes', () => {
    expect(requestStateKey(secret).equals(bindingKey(secret))).toBe(false);
    expect(requestStateKey(secret).equals(requestStateKey(secret))).toBe(true);
    expect(() => requestStateCodec(Buffer.alloc(16))).toThrow('32 bytes');
  });

  it('the request digest is canonical (key order does not matter) and names method and tool', () => {
    expect(requestDigest('tools/call', 't', { a: 1, b: [2, 3] })).toBe(requestDigest('tools/call', 't', { b: [2, 3], a: 1 }));
    expect(requestDigest('tools/call', 't', {})).not.toBe(requestDigest('prompts/get', 't', {}));
    expect(requestDigest('tools/call', 't', undefined)).toBe(requestDigest('tools/call', 't', {}));
  });
});

describe('the retry parameters and the InputRequiredResult shape', () => {
  it('takes inputResponses and requestState as given; malformed ones are the client\'s mistake (-32602)', () => {
    expect(retryParamsOf({ name: 'x', inputResponses: { a: { action: 'accept' } }, requestState: 'abc' })).toEqual({ inputResponses: { a: { action: 'accept' } }, requestState: 'abc' });
    expect(retryParamsOf({ name: 'x' })).toEqual({});
    for (const bad of [{ inputResponses: null }, { inputResponses: [1] }, { inputResponses: 3 }, { requestState: 5 }, { requestState: '' }, { requestState: 'x'.repeat(4097) }]) {
      expect(() => retryParamsOf(bad), JSON.stringify(bad).slice(0, 40)).toThrow(/Invalid params/);
    }
  });

  it('needs inputRequests or requestState', () => {
    expect(() => inputRequired({})).toThrow();
    expect(inputRequired({ requestState: 's' })).toEqual({ resultType: 'input_required', requestState: 's' });
  });
});
