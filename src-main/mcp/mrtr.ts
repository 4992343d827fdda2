// Multi round-trip requests (2026-07-28, SEP-2322), the pieces SDK 1.32.2 lacks: the InputRequiredResult shape, the
// retry's inputResponses, and a requestState that the client carries but cannot read or forge. The state is sealed
// with AES-256-GCM under a key derived from the install secret (never stored), and binds the key that asked, the
// session (if any), the request (method, name, canonical arguments) and an expiry; anything else is refused.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { canonicalJson } from '../store/canonical.ts';

export const INPUT_REQUIRED = 'input_required' as const;

/** An input request the server may embed: elicitation, sampling or roots (never anything else). */
export interface InputRequest {
  method: 'elicitation/create' | 'sampling/createMessage' | 'roots/list';
  params: Record<string, unknown>;
}

export interface InputRequiredResult {
  [key: string]: unknown;
  resultType: typeof INPUT_REQUIRED;
  inputRequests?: Record<string, InputRequest>;
  requestState?: string;
}

export function inputRequired(p: { inputRequests?: Record<string, InputRequest>; requestState?: string }): InputRequiredResult {
  if (!p.inputRequests && p.requestState === undefined) throw new Error('an InputRequiredResult needs inputRequests or requestState');
  return { resultType: INPUT_REQUIRED, ...p };
}

const MAX_STATE = 4096;
const ElicitResult = z.looseObject({ action: z.enum(['accept', 'decline', 'cancel']), content: z.record(z.string(), z.unknown()).optional() });
export type ElicitResult = z.infer<typeof ElicitResult>;

/** What a retry carries besides the original params. Malformed values are the client's mistake: -32602. */
export interface RetryParams {
  inputResponses?: Record<string, unknown>;
  requestState?: string;
}

export function retryParamsOf(params: unknown): RetryParams {
  const p = (params && typeof params === 'object' ? params : {}) as { inputResponses?: unknown; requestState?: unknown };
  const out: RetryParams = {};
  if (p.inputResponses !== undefined) {
    const r = z.record(z.string().max(200), z.unknown()).safeParse(p.inputResponses);
    if (!r.success || Array.isArray(p.inputResponses)) throw new McpError(ErrorCode.InvalidParams, 'Invalid params: inputResponses must be an object keyed by the inputRequests keys');
    out.inputResponses = r.data;
  }
  if (p.requestState !== undefined) {
    if (typeof p.requestState !== 'string' || p.requestState.length === 0 || p.requestState.length > MAX_STATE) {
      throw new McpError(ErrorCode.InvalidParams, 'Invalid params: requestState must be the string the server returned');
    }
    out.requestState = p.requestState;
  }
  return out;
}

/** The answer to one elicitation input request, if the retry carries a well-formed one under this key. */
export function elicitAnswer(r: RetryParams, key: string): ElicitResult | undefined {
  const v = ElicitResult.safeParse(r.inputResponses?.[key]);
  return v.success ? v.data : undefined;
}

/** The request a state belongs to: method, name (or uri) and the canonical arguments. */
export function requestDigest(method: string, name: string, args: unknown): string {
  return createHash('sha256').update(canonicalJson({ method, name, args: args ?? {} })).digest('base64url');
}

export interface StateBinding {
  keyId: string;
  /** The legacy session id, or '' on the stateless era (there is no session to bind). */
  session: string;
  /** requestDigest of the request the state was minted for. */
  request: string;
}

/** Why a requestState was refused: all are -32602 to the client; the reason is for the audit log. */
export class RequestStateError extends McpError {
  readonly reason: 'malformed' | 'forged' | 'expired' | 'foreign' | 'other_request';
  constructor(reason: RequestStateError['reason']) {
    super(ErrorCode.InvalidParams, 'Invalid or expired requestState: send the original request again without it', { reason });
    this.reason = reason;
  }
}

const VERSION = 1;
const AAD = Buffer.from('countersign requestState v1');
const Claims = z.object({ k: z.string(), s: z.string(), r: z.string(), exp: z.number(), d: z.record(z.string(), z.unknown()) });

export interface RequestStateCodec {
  /** Seals data (e.g. an approval id) bound to who asked and what; valid for ttlMs. */
  seal(bind: StateBinding, data: Record<string, unknown>, ttlMs?: number): string;
  /** The sealed data, or a RequestStateError when the state is not one we minted for exactly this binding. */
  open(token: string, bind: StateBinding): Record<string, unknown>;
}

export function requestStateKey(installSecret: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', installSecret, Buffer.alloc(0), 'countersign mrtr requestState v1', 32));
}

export function requestStateCodec(key: Buffer, defaultTtlMs = 30 * 60_000, now: () => number = Date.now): RequestStateCodec {
  if (key.length !== 32) throw new Error('requestState key must be 32 bytes');
  return {
    seal(bind, data, ttlMs = defaultTtlMs) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(AAD);
      const plain = Buffer.from(JSON.stringify({ k: bind.keyId, s: bind.session, r: bind.request, exp: now() + ttlMs, d: data }));
      const body = Buffer.concat([c.update(plain), c.final()]);
      return Buffer.concat([Buffer.from([VERSION]), iv, body, c.getAuthTag()]).toString('base64url');
    },
    open(token, bind) {
      if (token.length > MAX_STATE || !/^[A-Za-z0-9_-]+$/.test(token)) throw new RequestStateError('malformed');
      const raw = Buffer.from(token, 'base64url');
      if (raw.length < 1 + 12 + 16 + 2 || raw[0] !== VERSION) throw new RequestStateError('malformed');
      let claims: z.infer<typeof Claims>;
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(1, 13));
        d.setAAD(AAD);
        d.setAuthTag(raw.subarray(raw.length - 16));
        const plain = Buffer.concat([d.update(raw.subarray(13, raw.length - 16)), d.final()]);
        claims = Claims.parse(JSON.parse(plain.toString('utf8')));
      } catch {
        throw new RequestStateError('forged');
      }
      if (claims.k !== bind.keyId || claims.s !== bind.session) throw new RequestStateError('foreign');
      if (claims.r !== bind.request) throw new RequestStateError('other_request');
      if (claims.exp <= now()) throw new RequestStateError('expired');
      return claims.d;
    },
  };
}
