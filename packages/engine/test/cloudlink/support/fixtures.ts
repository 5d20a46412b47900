import type { RelayLink } from '../../../src/cloudlink/api-schemas.js';

/** One relay ingest link (`l1`, the phone) at `bitrate_kbps`, as telemetry and the control plane report it. */
export const linkRow = (bitrate_kbps: number): RelayLink => ({
  link_id: 'l1',
  label: 'phone',
  source_ip: null,
  protocol: 'srt',
  status: 'active',
  bitrate_kbps,
  rtt_ms: 30,
  packet_loss_pct: 0,
  jitter_ms: 2,
  connected_at: null,
});
