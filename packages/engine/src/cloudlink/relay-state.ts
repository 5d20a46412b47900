import type { Bonded, RelayLink } from './api-schemas.js';
import type { RelaySignal } from './relay-signals.js';
import type { TelemetryMessage } from './telemetry-messages.js';

export type IngestState = 'flowing' | 'stalled' | 'unknown';

/**
 * What the engine knows of the current session's relay: its telemetry, and the control plane's copy
 * of the links until telemetry speaks. One immutable value; `foldRelay()` makes the next one.
 */
export interface RelayState {
  /** The telemetry socket is open. */
  readonly connected: boolean;
  readonly ingestActive: boolean | null;
  readonly ingestState: IngestState;
  /** Relay uptime from its last `hello`, and when that arrived. */
  readonly hello: { readonly uptime_s: number; readonly at: number } | null;
  /** True once telemetry stats arrived for this session: links then come from the relay itself. */
  readonly telemetryLinks: boolean;
  readonly forwardedLinkId: string | null;
  readonly egressClients: number | null;
  readonly lastMessageAt: number | null;
  readonly links: RelayLink[];
  readonly bonded: Bonded | null;
}

/** What changes the relay state: a telemetry message, the socket's fate, or a control-plane answer. */
export type RelayEvent =
  | TelemetryMessage
  | { type: 'connected' }
  /** The socket dropped; the client reconnects by itself. */
  | { type: 'disconnected'; reason: string }
  /** The engine closed the connection (session over, relay moved, engine closing). */
  | { type: 'closed'; reason: string }
  /** The control plane's copy of the links, older than telemetry's: used only while telemetry is down. */
  | { type: 'control_plane'; links: RelayLink[]; bonded: Bonded | null };

export interface RelayStep {
  state: RelayState;
  /** For the state machine, in order, the moment the event is folded. */
  signals: RelaySignal[];
}

/**
 * A relay nobody has heard from in this session. `lastMessageAt` is when the engine last heard from
 * any relay (shown in `/api/state`), so it carries over from the session before.
 */
export function initialRelayState(lastMessageAt: number | null = null): RelayState {
  return {
    connected: false,
    ingestActive: null,
    ingestState: 'unknown',
    hello: null,
    telemetryLinks: false,
    forwardedLinkId: null,
    egressClients: null,
    lastMessageAt,
    links: [],
    bonded: null,
  };
}

/**
 * The next relay state and the signals the event warrants. Pure: `now` is the engine clock at
 * arrival, `sessionId` the session the telemetry connection belongs to.
 */
export function foldRelay(s: RelayState, e: RelayEvent, sessionId: string, now: number): RelayStep {
  const session_id = sessionId;
  switch (e.type) {
    case 'connected':
      return {
        state: { ...s, connected: true, lastMessageAt: now },
        signals: [{ kind: 'telemetry_connected', session_id }],
      };
    case 'disconnected': {
      // Ingest is unknown without the socket; the loss itself is signalled once.
      const state = { ...s, ingestActive: null, connected: false };
      return s.connected
        ? { state, signals: [{ kind: 'telemetry_disconnected', session_id, reason: e.reason }] }
        : { state, signals: [] };
    }
    case 'closed':
      return s.connected
        ? {
            state: { ...s, connected: false },
            signals: [{ kind: 'telemetry_disconnected', session_id, reason: e.reason }],
          }
        : { state: s, signals: [] };
    case 'control_plane':
      // Telemetry stats (every second) are fresher than the control plane's copy.
      return { state: s.connected ? s : { ...s, links: e.links, bonded: e.bonded }, signals: [] };
    case 'hello':
      return { state: { ...s, lastMessageAt: now, hello: { uptime_s: e.uptime_s, at: now } }, signals: [] };
    case 'stats': {
      const state: RelayState = {
        ...s,
        lastMessageAt: now,
        links: e.links,
        telemetryLinks: true,
        forwardedLinkId: e.forwarded_link_id,
        bonded: e.bonded,
        egressClients: e.egress_clients,
      };
      if (e.ingest_active === s.ingestActive) return { state, signals: [] };
      return {
        state: {
          ...state,
          ingestActive: e.ingest_active,
          // A stall pushed by the relay stands until it reports `resumed`.
          ingestState: e.ingest_active && s.ingestState !== 'stalled' ? 'flowing' : s.ingestState,
        },
        signals: [{ kind: e.ingest_active ? 'ingest_active' : 'ingest_inactive', session_id }],
      };
    }
    case 'ingest': {
      const stalled = e.state === 'stalled';
      return {
        state: { ...s, lastMessageAt: now, ingestState: stalled ? 'stalled' : 'flowing' },
        signals: [
          {
            kind: stalled ? 'ingest_stalled' : 'ingest_resumed',
            session_id,
            link_id: e.link_id,
            at: e.at,
            received_at: now,
          },
        ],
      };
    }
    case 'link_failover':
      return {
        state: { ...s, lastMessageAt: now },
        signals: [{ kind: 'link_failover', session_id, from: e.from, to: e.to }],
      };
  }
}

/** The relay's uptime at `now`: its last `hello` plus the time since. */
export function relayUptimeSeconds(s: RelayState, now: number): number | null {
  const h = s.hello;
  return h ? h.uptime_s + Math.max(0, now - h.at) / 1000 : null;
}

/** The link whose packets reach OBS: the one the relay forwards, else the strongest active one. */
export function feedLink(s: RelayState): RelayLink | null {
  const forwarded = s.links.find((l) => l.link_id === s.forwardedLinkId);
  if (forwarded) return forwarded;
  const active = s.links.filter((l) => l.status !== 'disconnected');
  return active.sort((a, b) => b.bitrate_kbps - a.bitrate_kbps)[0] ?? null;
}
