// What building a session server costs: it happens per session in the legacy eras and per request in 2026-07-28.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createSessionServer, FORM_SCHEMAS, SHARED_FORM_VALIDATOR } from '../../src-main/mcp/sessionServer.ts';
import type { ApiKey } from '../../src-main/auth/keys.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let t: TestServer;
let key: ApiKey;
beforeAll(async () => {
  t = await startTestServer();
  key = (await t.app.keys.create({ name: 'builds', scopes: ['ai:read'], tenants: ['acme-dental'] })).key;
});
afterAll(async () => { await t.close(); });

// SDK 1.32.2 keeps the validator in a private field; read here only to pin down what the server was given.
const validatorOf = (s: McpServer) => (s.server as unknown as { _jsonSchemaValidator: unknown })._jsonSchemaValidator;

describe('a session server', () => {
  it('shares one form validator with every other: the SDK would build an Ajv instance (and its formats) for each', () => {
    const a = createSessionServer(t.app.gate, { key, sessionId: () => undefined });
    const b = createSessionServer(t.app.gate, { key, sessionId: () => undefined });
    expect(validatorOf(a)).toBe(SHARED_FORM_VALIDATOR);
    expect(validatorOf(b)).toBe(SHARED_FORM_VALIDATOR);
    // The control: left to itself the SDK gives each server its own.
    const bare = [new McpServer({ name: 'x', version: '1' }), new McpServer({ name: 'y', version: '1' })].map(validatorOf);
    expect(bare[0]).not.toBe(bare[1]);
  });

  it('checks a form answer with it all the same (the conformance fixtures send forms), compiled once per schema text', () => {
    const schema = () => ({ type: 'object' as const, properties: { n: { type: 'number' as const } }, required: ['n'] });
    const check = SHARED_FORM_VALIDATOR.getValidator<{ n: number }>(schema());
    expect(check({ n: 1 }).valid).toBe(true);
    expect(check({ n: 'one' })).toMatchObject({ valid: false });
    // The same schema as a new object (each elicitation builds its own): the same compiled check, nothing more kept.
    expect(SHARED_FORM_VALIDATOR.getValidator(schema())).toBe(check);
    // Past FORM_SCHEMAS distinct schemas the store starts over, and checks still answer.
    for (let i = 0; i < FORM_SCHEMAS + 5; i++) SHARED_FORM_VALIDATOR.getValidator({ type: 'object', properties: { [`f${i}`]: { type: 'string' } } });
    const again = SHARED_FORM_VALIDATOR.getValidator<{ n: number }>(schema());
    expect(again).not.toBe(check);
    expect(again({ n: 2 }).valid).toBe(true);
    expect(again({})).toMatchObject({ valid: false });
  });
});
