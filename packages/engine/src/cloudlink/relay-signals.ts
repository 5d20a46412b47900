/**
 * What CloudLink tells the state machine. Each signal is pushed
 * the moment its cause is known; nothing is batched or deferred to a tick, so an `ingest_stalled`
 * from the relay reaches the failover rules within the same event-loop turn it arrived in.
 */
export type RelaySignal =
  /** The control plane accepted a start (or, with `restored`, reconnect-first found a session). */
  | { kind: 'session_accepted'; session_id: string; status: string; restored: boolean }
  /** The start was refused: the server's reason (`time_bank_exhausted`, …) or `control_plane_unreachable`. */
  | { kind: 'session_denied'; reason: string; message: string }
  /** Provisioning did not reach `active` in time. */
  | { kind: 'session_timeout'; session_id: string }
  /** The session is over: stopped by the user, or found stopped/missing on the control plane. */
  | { kind: 'session_ended'; session_id: string; reason: string }
  /** The control plane reports the session in grace (e.g. found so on reconnect-first startup). */
  | { kind: 'grace'; session_id: string; remaining_seconds: number | null }
  | { kind: 'telemetry_connected'; session_id: string }
  | { kind: 'telemetry_disconnected'; session_id: string; reason: string }
  | { kind: 'ingest_active'; session_id: string }
  | { kind: 'ingest_inactive'; session_id: string }
  /** Pushed by the relay: `at` is the relay's timestamp (ISO-8601 from the agent), `received_at` the engine clock on arrival. */
  | {
      kind: 'ingest_stalled';
      session_id: string;
      link_id: string | null;
      at: string | number;
      received_at: number;
    }
  | {
      kind: 'ingest_resumed';
      session_id: string;
      link_id: string | null;
      at: string | number;
      received_at: number;
    }
  | { kind: 'link_failover'; session_id: string; from: string | null; to: string | null };

export type RelaySignalKind = RelaySignal['kind'];

/** Implemented by the state machine (or an adapter in front of it). Must not throw. */
export interface RelaySignalSink {
  relaySignal(signal: RelaySignal): void;
}
