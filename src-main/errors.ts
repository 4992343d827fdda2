// The one error model. Every refusal or failure that leaves a service is an AppError with a code; each wire format
// maps it exactly once: MCP tool results (mcp/results.ts), JSON-RPC and console HTTP errors (http/), IPC (electron/).
// Pure: no imports, so the console contract and the renderer may share it.

export const ERROR_CODES = [
  // The gate's refusals, as the model sees them.
  'TIER4_BLOCKED', 'SCOPE_DENIED', 'NOT_ALLOWLISTED', 'EXECUTE_ADMIN_REQUIRED', 'RATE_LIMITED', 'TENANT_DENIED', 'INVALID_ARGUMENTS',
  'APPROVAL_DENIED', 'APPROVAL_EXPIRED', 'POLICY_CHANGED', 'TAMPERED', 'PLAN_CHANGED', 'NOT_FOUND', 'CONFLICT', 'UNKNOWN_TOOL', 'EXECUTION_FAILED',
  'TICKET_REQUIRED', 'POLICY_UNVERIFIED',
  // The console's and the HTTP layer's.
  'BAD_INPUT', 'GONE', 'PINNED', 'UNAUTHORIZED', 'FORBIDDEN', 'INTERNAL', 'UNAVAILABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The HTTP status each code stands for, where a transport needs one. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  TIER4_BLOCKED: 403, SCOPE_DENIED: 403, NOT_ALLOWLISTED: 403, EXECUTE_ADMIN_REQUIRED: 403, RATE_LIMITED: 429, TENANT_DENIED: 403,
  INVALID_ARGUMENTS: 400, APPROVAL_DENIED: 409, APPROVAL_EXPIRED: 410, POLICY_CHANGED: 409, TAMPERED: 409, PLAN_CHANGED: 409, NOT_FOUND: 404, CONFLICT: 409,
  UNKNOWN_TOOL: 404, EXECUTION_FAILED: 500, TICKET_REQUIRED: 403, POLICY_UNVERIFIED: 409, BAD_INPUT: 400, GONE: 410, PINNED: 409, UNAUTHORIZED: 401, FORBIDDEN: 403, INTERNAL: 500,
  UNAVAILABLE: 503,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  /** The rule that refused (audit column `rule`). */
  readonly rule: string;
  /** Machine-readable facts the client can act on (retryAfterSeconds, requiredScope, …). */
  readonly extra: Record<string, unknown>;
  /** What the audit records when it differs from what the caller is told (a foreign id vs an unknown one). */
  readonly auditReason: string | undefined;
  constructor(code: ErrorCode, message: string, rule: string = code.toLowerCase(), extra: Record<string, unknown> = {}, auditReason?: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.rule = rule;
    this.extra = extra;
    this.auditReason = auditReason;
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  /** The shape every transport carries: `{code, message, status, ...extra}`. */
  toJSON(): ErrorShape {
    return { ...this.extra, code: this.code, message: this.message, status: this.status };
  }

  /** An error shape read back from a wire (IPC reply, HTTP body); anything unrecognisable is INTERNAL. */
  static fromShape(v: unknown): AppError {
    const o = v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
    const message = typeof o.message === 'string' ? o.message : 'internal error';
    if (!isErrorCode(o.code)) return new AppError('INTERNAL', message);
    const { code, message: _m, status: _s, ...extra } = o;
    return new AppError(code, message, code.toLowerCase(), extra);
  }
}

export type ErrorShape = { code: ErrorCode; message: string; status: number } & Record<string, unknown>;

/** A result that crosses a boundary which cannot carry exceptions faithfully (Electron IPC keeps only a message). */
export type Reply<T> = { ok: true; value: T } | { ok: false; error: ErrorShape };

/** A Reply's value, or its refusal thrown as the AppError it was; anything that is not a Reply is INTERNAL. */
export function unwrapReply(r: unknown): unknown {
  const reply = r as Reply<unknown> | null;
  if (reply !== null && typeof reply === 'object' && 'ok' in reply) {
    if (reply.ok) return reply.value;
    throw AppError.fromShape(reply.error);
  }
  throw new AppError('INTERNAL', 'an answer arrived outside the Reply shape');
}

export const isErrorCode = (v: unknown): v is ErrorCode => typeof v === 'string' && (ERROR_CODES as readonly string[]).includes(v);
