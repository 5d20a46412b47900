import { MODES, type Mode } from '@telemy/protocol';

/** The SLA figures (docs/observability.md) for one time window. */
export interface WindowFigures {
  detection_to_switch_ms: { count: number; p50: number | null; p95: number | null; max: number | null };
  switches: { ok: number; failed: number };
  /** ok / (ok + failed); null when nothing was switched. */
  switch_success_ratio: number | null;
  mode_seconds: Record<Mode, number>;
  degraded_seconds: number;
  grace_entries: number;
  grace_recoveries: number;
}

export interface Diagnostics {
  started_at_ms: number;
  mode: Mode;
  since_start: WindowFigures;
  last_hour: WindowFigures;
}

const HOUR_MS = 3_600_000;
/** Latencies kept for the since-start percentiles; beyond this the oldest are dropped. */
const MAX_SWITCH_RECORDS = 10_000;

interface SwitchRecord {
  at: number;
  ok: boolean;
  detectionMs: number;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? null;
}

function zeroModes(): Record<Mode, number> {
  return Object.fromEntries(MODES.map((m) => [m, 0])) as Record<Mode, number>;
}

/** Accumulates switch outcomes, time per mode and grace counts; times come from the caller's clock. */
export class DiagnosticsTracker {
  private readonly switches: SwitchRecord[] = [];
  private readonly segments: Array<{ mode: Mode; from: number; to: number }> = [];
  private readonly graces: Array<{ at: number; kind: 'entry' | 'recovery' }> = [];
  private readonly closedModeMs = zeroModes();
  private totals = { ok: 0, failed: 0, graceEntries: 0, graceRecoveries: 0 };
  private mode: Mode;
  private modeSince: number;

  constructor(
    readonly startedAt: number,
    initialMode: Mode,
  ) {
    this.mode = initialMode;
    this.modeSince = startedAt;
  }

  modeChanged(to: Mode, at: number): void {
    this.segments.push({ mode: this.mode, from: this.modeSince, to: at });
    this.closedModeMs[this.mode] += at - this.modeSince;
    this.mode = to;
    this.modeSince = at;
  }

  switchDone(at: number, ok: boolean, detectionMs: number): void {
    this.switches.push({ at, ok, detectionMs });
    if (this.switches.length > MAX_SWITCH_RECORDS) this.switches.shift();
    if (ok) this.totals.ok += 1;
    else this.totals.failed += 1;
  }

  graceEntered(at: number): void {
    this.graces.push({ at, kind: 'entry' });
    this.totals.graceEntries += 1;
  }

  graceRecovered(at: number): void {
    this.graces.push({ at, kind: 'recovery' });
    this.totals.graceRecoveries += 1;
  }

  report(now: number): Diagnostics {
    this.prune(now);
    const sinceStartModes = { ...this.closedModeMs };
    sinceStartModes[this.mode] += now - this.modeSince;
    const hourStart = now - HOUR_MS;
    const hourModes = zeroModes();
    for (const seg of [...this.segments, { mode: this.mode, from: this.modeSince, to: now }]) {
      const from = Math.max(seg.from, hourStart);
      if (seg.to > from) hourModes[seg.mode] += seg.to - from;
    }
    const hourSwitches = this.switches.filter((s) => s.at >= hourStart);
    const hourGraces = this.graces.filter((g) => g.at >= hourStart);
    return {
      started_at_ms: this.startedAt,
      mode: this.mode,
      since_start: this.figures(
        this.switches,
        this.totals.ok,
        this.totals.failed,
        sinceStartModes,
        this.totals.graceEntries,
        this.totals.graceRecoveries,
      ),
      last_hour: this.figures(
        hourSwitches,
        hourSwitches.filter((s) => s.ok).length,
        hourSwitches.filter((s) => !s.ok).length,
        hourModes,
        hourGraces.filter((g) => g.kind === 'entry').length,
        hourGraces.filter((g) => g.kind === 'recovery').length,
      ),
    };
  }

  private figures(
    records: SwitchRecord[],
    ok: number,
    failed: number,
    modeMs: Record<Mode, number>,
    graceEntries: number,
    graceRecoveries: number,
  ): WindowFigures {
    const latencies = records
      .filter((r) => r.ok)
      .map((r) => r.detectionMs)
      .sort((a, b) => a - b);
    const modeSeconds = zeroModes();
    for (const m of MODES) modeSeconds[m] = Math.round(modeMs[m]) / 1000;
    return {
      detection_to_switch_ms: {
        count: latencies.length,
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        max: latencies.length > 0 ? (latencies[latencies.length - 1] ?? null) : null,
      },
      switches: { ok, failed },
      switch_success_ratio: ok + failed === 0 ? null : ok / (ok + failed),
      mode_seconds: modeSeconds,
      degraded_seconds: modeSeconds.DEGRADED,
      grace_entries: graceEntries,
      grace_recoveries: graceRecoveries,
    };
  }

  /** Mode segments and grace marks older than an hour only matter to the since-start totals. */
  private prune(now: number): void {
    const hourStart = now - HOUR_MS;
    while (this.segments.length > 0 && (this.segments[0]?.to ?? now) < hourStart) this.segments.shift();
    while (this.graces.length > 0 && (this.graces[0]?.at ?? now) < hourStart) this.graces.shift();
  }
}
