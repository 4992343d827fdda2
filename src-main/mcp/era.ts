// The two protocol eras Countersign serves side by side. Legacy (2025-11-25 and earlier): an initialize handshake opens
// a session, and the SDK's transports carry it. Modern (2026-07-28): no handshake, no session; every request carries its
// protocol version, the client's capabilities and, optionally, its identity and log level in params._meta.
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export const MODERN_VERSIONS = ['2026-07-28'] as const;
/** Newest first: server/discover and UnsupportedProtocolVersion list them so a client picks the newest it speaks. */
export const SUPPORTED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...SUPPORTED_PROTOCOL_VERSIONS.filter((v) => v >= '2024-11-05')];

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** Error codes of the 2026-07-28 range the specification reserves (-32020 … -32099). */
export const MODERN_ERRORS = { headerMismatch: -32020, missingCapability: -32021, unsupportedVersion: -32022 } as const;

export const isModernVersion = (v: unknown): boolean => (MODERN_VERSIONS as readonly unknown[]).includes(v);
export const isLegacyVersion = (v: unknown): boolean => typeof v === 'string' && (SUPPORTED_PROTOCOL_VERSIONS as readonly string[]).includes(v);

const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What a client declares about itself. Capabilities are open-ended objects; only the parts we act on are typed. */
export const ClientCapabilities = z.looseObject({
  elicitation: z.looseObject({ form: z.looseObject({}).optional(), url: z.looseObject({}).optional() }).optional(),
  sampling: z.looseObject({}).optional(),
  roots: z.looseObject({}).optional(),
  tasks: z.looseObject({ requests: z.looseObject({ tools: z.looseObject({ call: z.looseObject({}).optional() }).optional() }).optional() }).optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});
export type ClientCapabilities = z.infer<typeof ClientCapabilities>;

/** A legacy session's capabilities (as the SDK kept them from initialize), in the same shape. */
export const capabilitiesOf = (c: unknown): ClientCapabilities | undefined => {
  const r = ClientCapabilities.safeParse(c);
  return r.success ? r.data : undefined;
};

/** The per-request envelope of the modern era, validated (the transport answers -32602 when it does not hold). */
export const RequestMeta = z.looseObject({
  [META.protocolVersion]: z.string().min(1).max(64),
  [META.clientCapabilities]: ClientCapabilities,
  [META.clientInfo]: z.looseObject({ name: z.string().max(200), version: z.string().max(100).optional() }).optional(),
  [META.logLevel]: z.enum(LOG_LEVELS).optional(),
});

export interface ModernRequestContext {
  era: 'modern';
  protocolVersion: string;
  capabilities: ClientCapabilities;
  client?: { name: string; version?: string };
  /** notifications/message only when the request asked for them, at this level or above. */
  logLevel?: LogLevel;
}

/** The modern envelope of a request (its params._meta), or undefined when the request belongs to a legacy session. */
export function modernContextOf(meta: unknown): ModernRequestContext | undefined {
  if (!meta || typeof meta !== 'object' || !(META.protocolVersion in meta)) return undefined;
  const m = RequestMeta.safeParse(meta);
  if (!m.success || !isModernVersion(m.data[META.protocolVersion])) return undefined;
  const info = m.data[META.clientInfo];
  return {
    era: 'modern', protocolVersion: m.data[META.protocolVersion], capabilities: m.data[META.clientCapabilities],
    client: info ? { name: info.name, version: info.version } : undefined, logLevel: m.data[META.logLevel],
  };
}

export const levelAllows = (min: LogLevel | undefined, level: LogLevel): boolean => min !== undefined && LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(min);

/** A declared extension: present under capabilities.extensions (any settings object). */
export const declaresExtension = (c: ClientCapabilities | undefined, id: string): boolean => {
  const v = c?.extensions?.[id];
  return v !== undefined && v !== null && typeof v === 'object';
};
