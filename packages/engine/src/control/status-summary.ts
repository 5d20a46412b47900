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
  obs: ObsSummary;
}

/** What `!obsinfo` tells: OBS's connection, stream output and encoder. */
export interface ObsSummary {
  connected: boolean;
  /** Why OBS is not connected, when known. */
  problem: string | null;
  streaming: boolean;
  stream_duration_ms: number | null;
  recording: boolean;
  bitrate_kbps: number | null;
  /** Frames the stream output dropped (network), percent. */
  dropped_pct: number | null;
  encoding_lag_ms: number | null;
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

/** `!sourceinfo`: every feed source with its verdict, the numbers it has and why. */
export function sourceInfoLine(s: EngineStatusSummary): string {
  if (s.sources.length === 0) return 'no ingest source configured';
  return s.sources
    .map((r) => {
      const numbers = [
        r.bitrate_kbps === null ? null : `${Math.round(r.bitrate_kbps)} kb/s`,
        r.rtt_ms === null ? null : `RTT ${Math.round(r.rtt_ms)} ms`,
      ].filter((n) => n !== null);
      const why = r.reason ? ` — ${r.reason}` : '';
      return `${r.name}: ${[r.classification, ...numbers].join(', ')}${why}`;
    })
    .join(' | ');
}

function duration(ms: number): string {
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** `!obsinfo`: streaming or not, program scene, output bitrate, dropped frames, encoding lag. */
export function obsInfoLine(s: EngineStatusSummary): string {
  const o = s.obs;
  if (!o.connected) return `OBS not connected — ${o.problem ?? 'connecting'}`;
  const parts = [
    o.streaming
      ? `OBS live${o.stream_duration_ms === null ? '' : ` for ${duration(o.stream_duration_ms)}`}`
      : 'OBS not streaming',
    `scene ${s.scene ?? 'unknown'}`,
  ];
  if (o.streaming) {
    parts.push(fmt(o.bitrate_kbps, 'kb/s'));
    if (o.dropped_pct !== null) parts.push(`dropped frames ${o.dropped_pct.toFixed(1)}%`);
  }
  if (o.encoding_lag_ms !== null) parts.push(`encoding lag ${Math.round(o.encoding_lag_ms)} ms`);
  if (o.recording) parts.push('recording');
  return parts.join(' · ');
}
