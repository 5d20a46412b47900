import { Counter, Gauge, Registry } from 'prom-client';

/** The relay's Prometheus instruments, on a registry of its own. */
export function createRelayMetrics() {
  const registry = new Registry();
  const m = {
    registry,
    linkBitrate: new Gauge({
      name: 'telemy_relay_link_bitrate_kbps',
      help: 'Ingest bitrate per link, measured on the loopback hop (kbit/s)',
      labelNames: ['link'] as const,
      registers: [registry],
    }),
    linkRtt: new Gauge({
      name: 'telemy_relay_link_rtt_seconds',
      help: 'SRT round-trip time per ingest link',
      labelNames: ['link'] as const,
      registers: [registry],
    }),
    linkLoss: new Gauge({
      name: 'telemy_relay_link_loss_ratio',
      help: 'SRT packet loss ratio per ingest link over the last statistics window',
      labelNames: ['link'] as const,
      registers: [registry],
    }),
    ingestActive: new Gauge({
      name: 'telemy_relay_ingest_active',
      help: '1 while a link feeds the egress, 0 while the feed is stalled',
      registers: [registry],
    }),
    stalls: new Counter({
      name: 'telemy_relay_stalls_total',
      help: 'Times the egress feed stalled (no link could take over)',
      registers: [registry],
    }),
    failovers: new Counter({
      name: 'telemy_relay_link_failovers_total',
      help: 'Relay-side switches of the forwarded ingest link',
      registers: [registry],
    }),
    egressClients: new Gauge({
      name: 'telemy_relay_egress_clients',
      help: 'SRT callers connected to the egress listener',
      registers: [registry],
    }),
    healthPostFailures: new Counter({
      name: 'telemy_relay_health_post_failures_total',
      help: 'Health reports to the control plane that failed',
      registers: [registry],
    }),
    srtlaGroups: new Gauge({
      name: 'telemy_relay_srtla_groups',
      help: 'SRTLA connection groups (bonded senders) known to the receiver',
      registers: [registry],
    }),
    srtlaLinkBitrate: new Gauge({
      name: 'telemy_relay_srtla_link_bitrate_kbps',
      help: 'SRT data arriving per SRTLA connection over the last seconds (kbit/s)',
      labelNames: ['link', 'source'] as const,
      registers: [registry],
    }),
    srtlaLinkShare: new Gauge({
      name: 'telemy_relay_srtla_link_share_ratio',
      help: "Part of its group's data packets each SRTLA connection carried over the last seconds",
      labelNames: ['link', 'source'] as const,
      registers: [registry],
    }),
    srtlaLinkNaks: new Gauge({
      name: 'telemy_relay_srtla_link_naks',
      help: 'SRT NAKs routed back over each SRTLA connection since it registered',
      labelNames: ['link', 'source'] as const,
      registers: [registry],
    }),
    srtlaLinkSilence: new Gauge({
      name: 'telemy_relay_srtla_link_silence_seconds',
      help: 'Time since the last datagram of each SRTLA connection (keepalives count)',
      labelNames: ['link', 'source'] as const,
      registers: [registry],
    }),
    rejectedCallers: new Counter({
      name: 'telemy_relay_rejected_callers_total',
      help: 'SRT callers rejected by a listener (wrong passphrase)',
      labelNames: ['listener'] as const,
      registers: [registry],
    }),
  };
  return m;
}

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;
