// The WebAuthn shapes a browser sends (the JSON of @simplewebauthn/browser's startRegistration/startAuthentication),
// checked before the library sees them, and the clientDataJSON inside, read here so a garbled one is a clear 400.
import { z } from 'zod';
import { AppError } from '../errors.ts';

const b64u = (max: number) => z.string().min(1).max(max).regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const TRANSPORTS = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** Unknown transports are dropped rather than refused: newer browsers add them. */
export const Transports = z.array(z.string().max(32)).max(10).transform((ts) => ts.filter((t): t is Transport => (TRANSPORTS as readonly string[]).includes(t)));

const common = {
  id: b64u(1400),
  rawId: b64u(1400),
  type: z.literal('public-key'),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};

export const RegistrationResponse = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64u(8000),
    attestationObject: b64u(48_000),
    authenticatorData: b64u(16_000).optional(),
    transports: Transports.optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: b64u(16_000).optional(),
  }),
});
export type RegistrationResponse = z.infer<typeof RegistrationResponse>;

export const AuthenticationResponse = z.object({
  ...common,
  response: z.object({
    clientDataJSON: b64u(8000),
    authenticatorData: b64u(16_000),
    signature: b64u(2000),
    userHandle: b64u(200).optional(),
  }),
});
export type AuthenticationResponse = z.infer<typeof AuthenticationResponse>;

const ClientData = z.object({ type: z.string(), challenge: z.string().max(400), origin: z.string().max(400) });
export type ClientData = z.infer<typeof ClientData>;

/** The browser's clientDataJSON (base64url JSON); BAD_INPUT when it is not one. */
export function readClientData(encoded: string, type: 'webauthn.create' | 'webauthn.get'): ClientData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('BAD_INPUT', 'clientDataJSON is not JSON');
  }
  const r = ClientData.safeParse(parsed);
  if (!r.success) throw new AppError('BAD_INPUT', 'clientDataJSON lacks type, challenge or origin');
  if (r.data.type !== type) throw new AppError('BAD_INPUT', `clientDataJSON is of type ${JSON.stringify(r.data.type.slice(0, 40))}, not ${type}`);
  return r.data;
}

export const PasskeyName = z.string().trim().min(1, 'name the passkey').max(100).regex(/^[^\p{C}]+$/u, 'no control characters');
