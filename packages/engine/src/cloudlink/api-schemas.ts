import {
  AuthTokenResponse,
  type ClientPlatform,
  type RelayBonded,
  type RelayLink,
  RelaySession,
  type RelayStartRequest,
  RelayStopResponse,
  type StopReason,
  UsageCurrentResponse,
} from '@telemy/protocol';
import { z } from 'zod';

/**
 * The control-plane bodies CloudLink reads, from the shared protocol package (the server validates
 * with the same schemas). They are not strict: unknown fields are dropped, as v1 only adds fields.
 */
export const SessionSchema = RelaySession;
export const TokenResponseSchema = AuthTokenResponse;
export const StopResponseSchema = RelayStopResponse;
export const UsageSchema = UsageCurrentResponse;
/**
 * Read leniently (unlike the protocol's `ApiErrorBody`): an error may come from a proxy in front of
 * the control plane, and a partial envelope still beats a bare status code.
 */
export const ErrorEnvelopeSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    request_id: z.string().nullish(),
    details: z.unknown().optional(),
  }),
});

export type Session = RelaySession;
export type StopResult = RelayStopResponse;
export type Usage = UsageCurrentResponse;
export type Bonded = RelayBonded;
export type { ClientPlatform, RelayLink, StopReason };
export type RequestedBy = RelayStartRequest['client_context']['requested_by'];

/** True when the relay is known well enough for the engine to connect telemetry. */
export function relayReady(s: Session): boolean {
  return s.relay.ws_url !== null && s.credentials.relay_ws_token.length > 0;
}
