import type { CloudLinkSnapshot } from '../cloudlink/cloudlink.js';
import type { ParseOutcome } from './feed-sample.js';

/** Long enough for CloudLink to find the running session and reconnect the telemetry socket. */
export const RELAY_TELEMETRY_CONNECT_MS = 5_000;

/**
 * The `relay` source's reading, from CloudLink's snapshot. Until telemetry has connected for the
 * current session it reads unknown for `connectMs` after the engine started and again after a
 * session appeared (the engine restarted mid-stream and is still finding its session, or the relay is
 * booting): the scene holds, instead of a BRB flash while the socket reconnects. Once telemetry has
 * been up for the session, losing it is offline at once, and so is a relay that does not connect
 * within the window, or no session at all once the first window is over. A connected relay that has
 * not reported its ingest yet is unknown too: LIVE needs the phone's feed reported, not just a socket.
 * While the engine is still bringing the control plane up to ask whether a session runs (`cloudStarting`:
 * the embedded one is a child process that takes seconds, longer after an engine crash on a busy PC),
 * nobody knows yet: unknown, and the windows start only once it has answered.
 */
export class RelayFeedReader {
  private waiting: { sessionId: string | null; since: number } | null = null;
  private connectedSession: string | null = null;

  constructor(private readonly connectMs = RELAY_TELEMETRY_CONNECT_MS) {}

  read(snap: CloudLinkSnapshot | undefined, now: number, cloudStarting = false): ParseOutcome {
    const t = snap?.telemetry;
    const sessionId = snap?.session?.session_id ?? null;
    if (t?.connected) {
      this.connectedSession = sessionId;
      this.waiting = null;
    } else if (cloudStarting && this.connectedSession === null) {
      this.waiting = null;
      return { kind: 'unknown', reason: 'waiting for the control plane to find the relay session' };
    } else if (sessionId === null || this.connectedSession !== sessionId) {
      // The first read opens the start-up window; a session appearing later opens its own.
      if (!this.waiting || (sessionId !== null && this.waiting.sessionId !== sessionId)) {
        this.waiting = { sessionId, since: now };
      }
      if (now - this.waiting.since < this.connectMs)
        return { kind: 'unknown', reason: 'waiting for the relay telemetry to connect' };
    }
    if (!t?.connected) return { kind: 'offline', reason: 'relay telemetry not connected' };
    if (t.ingest_active === false) return { kind: 'offline', reason: 'relay ingest inactive' };
    if (t.ingest_active !== true)
      return { kind: 'unknown', reason: 'waiting for the relay to report the ingest' };
    return {
      kind: 'sample',
      connected: true,
      bitrate_kbps: snap?.bonded?.total_bitrate_kbps ?? null,
      rtt_ms: null,
      loss_pct: null,
      missing: [],
    };
  }
}
