/** A compact view of the engine for `!status`, `!bitrate`, the IPC status snapshot and the CLI. */
export interface SourceReading {
  name: string;
  classification: 'normal' | 'low' | 'offline' | 'unknown';
  bitrate_kbps: number | null;
  rtt_ms: number | null;
  loss_pct: number | null;
  reason: string | null;
}

export interface EngineStatusSummary {
  mode: string;
  /** The dashboard's status line: what is on air, why, what happens next. */
  status: string;
  feed: SourceReading & { source: string | null };
  sources: SourceReading[];
  scene: string | null;
  relay: { status: string; time_bank_left_s: number | null };
}

const fmt = (v: number | null, unit: string) => (v === null ? `? ${unit}` : `${Math.round(v)} ${unit}`);

/** `!status`: the dashboard's status line, then the mode and the relay. */
export function statusReply(s: EngineStatusSummary): string {
  const bank =
    s.relay.time_bank_left_s === null
      ? ''
      : `, Time Bank ${Math.floor(s.relay.time_bank_left_s / 3600)}h${String(Math.floor((s.relay.time_bank_left_s % 3600) / 60)).padStart(2, '0')} left`;
  return `${s.status} · ${s.mode} · relay ${s.relay.status}${bank}`;
}

export function bitrateLine(s: EngineStatusSummary): string {
  if (s.sources.length === 0) return 'no ingest source reporting';
  return s.sources
    .map((r) => `${r.name}: ${fmt(r.bitrate_kbps, 'kb/s')}, RTT ${fmt(r.rtt_ms, 'ms')} (${r.classification})`)
    .join(' | ');
}
