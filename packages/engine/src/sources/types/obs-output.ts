import { type ParseOutcome, toSample } from '../feed-sample.js';
import type { SourceModule } from '../source-module.js';

/** OBS stream output as the OBS metrics hub samples it (instantaneous bitrate from byte deltas). */
export interface ObsOutputReading {
  active: boolean;
  bitrate_kbps: number | null;
  reconnecting: boolean;
  congestion: number | null;
}

/**
 * OBS's own stream output, the feed when no ingest source is configured. Not streaming is no
 * failure (there is nothing on air to protect) and the first reading of a run has no rate yet:
 * both are unknown. Its bitrate is shown but not held against the thresholds: it follows the
 * encoder and the scene, dips on a busy encoding PC while the stream is fine, and no scene switch
 * repairs OBS's own upload. It is offline when OBS says the output is reconnecting to the server, or
 * sent nothing at all over the rate window.
 */
export function parseObsOutput(r: ObsOutputReading): ParseOutcome {
  if (!r.active) return { kind: 'unknown', reason: 'OBS is not streaming' };
  if (r.reconnecting) return { kind: 'offline', reason: 'OBS output reconnecting' };
  if (r.bitrate_kbps === null) return { kind: 'unknown', reason: 'measuring the OBS output bitrate' };
  if (r.bitrate_kbps === 0) return { kind: 'offline', reason: 'OBS sent nothing for 2 s' };
  const congested = r.congestion !== null && r.congestion >= 0.5;
  return {
    kind: 'sample',
    connected: true,
    bitrate_kbps: r.bitrate_kbps,
    rtt_ms: null,
    loss_pct: null,
    missing: [],
    judged: false,
    ...(congested ? { reason: `congestion ${Math.round((r.congestion ?? 0) * 100)} %` } : {}),
  };
}

/** The OBS stream output, read on every metrics-hub sample (instantaneous bitrate). */
export const source: SourceModule = {
  runner: (ctx) => {
    const onSample = () => {
      const snap = ctx.hub.snapshot();
      const st = snap.stream;
      // OBS gone or not answering says nothing about the stream it sends: unknown, never offline.
      const outcome: ParseOutcome = !snap.obsConnected
        ? { kind: 'unknown', reason: 'OBS not connected' }
        : snap.statsError !== null
          ? { kind: 'unknown', reason: `OBS did not answer the stats request (${snap.statsError})` }
          : parseObsOutput({
              active: st?.active ?? false,
              bitrate_kbps: st?.windowBitrateKbps ?? null,
              reconnecting: st?.reconnecting ?? false,
              congestion: st?.congestion ?? null,
            });
      ctx.ingest(toSample(outcome, ctx.config.name, snap.at));
    };
    return {
      start: () => ctx.hub.on('sample', onSample),
      stop: () => ctx.hub.off('sample', onSample),
    };
  },
};
