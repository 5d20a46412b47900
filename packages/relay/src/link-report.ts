import type { RelayBonded, RelayLink } from '@telemy/protocol';
import type { RelayMetrics } from './metrics.js';
import type { SrtlaGroupStats } from './srtla/receiver.js';

/** Bonding senders keep idle links alive once a second: longer silence means a failing link. */
const SRTLA_SILENT_MS = 2_500;
/** Health reports carry at most this many link rows. */
const MAX_LINK_ROWS = 16;

/** One row per SRTLA connection; together they are the feed of the first ingest listener. */
function srtlaRows(groups: SrtlaGroupStats[], t: number): RelayLink[] {
  const iso = (ms: number) => new Date(ms).toISOString();
  return groups.flatMap((g) =>
    g.connections.map(
      (c): RelayLink => ({
        link_id: `srtla${c.id}`,
        label: `SRTLA ${c.address.address}:${c.address.port}`,
        source_ip: c.address.address,
        protocol: 'srtla',
        status: t - c.lastPacketAt > SRTLA_SILENT_MS ? 'degraded' : 'active',
        bitrate_kbps: Math.round(c.bitrateKbps),
        rtt_ms: null,
        packet_loss_pct: null,
        jitter_ms: null,
        connected_at: iso(c.registeredAt),
        srtla: {
          share_pct: c.share * 100,
          naks: c.naksRouted,
          retransmits: c.retransmits,
          last_packet_at: iso(c.lastPacketAt),
        },
      }),
    ),
  );
}

/**
 * The rows of health reports and telemetry: one per SRT ingest listener, except that while a bonded
 * sender is connected its links stand in for the listener it feeds (the first).
 */
export function linkRows(listenerRows: RelayLink[], srtla: SrtlaGroupStats[], t: number): RelayLink[] {
  const bonded = srtlaRows(srtla, t);
  const plain = listenerRows.filter((_, i) => i > 0 || bonded.length === 0);
  return [...plain, ...bonded].slice(0, MAX_LINK_ROWS);
}

export function bondedOf(rows: RelayLink[]): RelayBonded {
  const active = rows.filter((r) => r.status !== 'disconnected');
  return {
    total_bitrate_kbps: active.reduce((s, r) => s + r.bitrate_kbps, 0),
    active_link_count: active.length,
    health:
      active.length === 0 ? 'critical' : active.some((r) => r.status === 'degraded') ? 'degraded' : 'healthy',
  };
}

export function recordSrtlaMetrics(metrics: RelayMetrics, groups: SrtlaGroupStats[], t: number): void {
  metrics.srtlaGroups.set(groups.length);
  // Connections come and go (a NAT rebinding is a new one): only the current ones are exported.
  for (const g of [
    metrics.srtlaLinkBitrate,
    metrics.srtlaLinkShare,
    metrics.srtlaLinkNaks,
    metrics.srtlaLinkSilence,
  ])
    g.reset();
  for (const c of groups.flatMap((g) => g.connections)) {
    const labels = { link: `srtla${c.id}`, source: `${c.address.address}:${c.address.port}` };
    metrics.srtlaLinkBitrate.set(labels, c.bitrateKbps);
    metrics.srtlaLinkShare.set(labels, c.share);
    metrics.srtlaLinkNaks.set(labels, c.naksRouted);
    metrics.srtlaLinkSilence.set(labels, Math.max(0, t - c.lastPacketAt) / 1000);
  }
}
