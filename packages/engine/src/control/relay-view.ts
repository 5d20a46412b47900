import type { RelayLink } from '../cloudlink/api-schemas.js';
import type { CloudLinkView } from '../cloudlink/cloudlink.js';
import { feedLink, relayUptimeSeconds } from '../cloudlink/relay-state.js';
import type { RelayInput, RelayLinkInput } from '../server/dock-state.js';

/**
 * The relay part of the dock's inputs, from CloudLink's view. Carries the pairing secrets whenever a
 * session has them: the dock projection shows them only while `pairingRevealed`.
 */
export function relayInputOf(v: CloudLinkView): RelayInput {
  const s = v.session;
  const u = v.usage;
  const r = v.relay;
  const rows = r.telemetryLinks || r.links.length > 0 ? r.links : null;
  return {
    status: !s
      ? 'inactive'
      : v.phase === 'ending'
        ? 'stopping'
        : s.status === 'stopped'
          ? 'inactive'
          : s.status,
    region: s?.region ?? null,
    uptime_s: s ? (relayUptimeSeconds(r, v.at) ?? s.usage.duration_seconds) : null,
    latency_ms: feedLink(r)?.rtt_ms ?? null,
    instance: s?.relay.instance_id ?? null,
    grace_remaining_s: s?.timers.grace_remaining_seconds ?? null,
    time_bank: u
      ? { left_s: Math.max(0, u.remaining_seconds), used_s: Math.max(0, u.consumed_seconds) }
      : null,
    pairing: s ? v.pairing : null,
    pairingRevealed: v.pairingRevealed,
    phone_address: v.phoneAddress,
    links: s && rows ? rows.map(linkInput) : null,
    detail: v.detail ?? v.notice,
  };
}

function linkInput(l: RelayLink): RelayLinkInput {
  return {
    label: l.label || l.link_id,
    status: l.status,
    bitrate_kbps: l.bitrate_kbps,
    rtt_ms: l.rtt_ms,
    loss_pct: l.packet_loss_pct,
    jitter_ms: l.jitter_ms,
  };
}
