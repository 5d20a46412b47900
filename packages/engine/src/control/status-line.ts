import type { DockStatus } from '@telemy/protocol';
import type { AutomationStatus } from '../failover/automation-status.js';
import {
  type EffectiveFeed,
  type FailoverState,
  intentOfScene,
  offlineTimeoutAt,
  sceneOnAir,
} from '../failover/machine.js';

/** What the status line is made from: one snapshot of the engine (see `EngineSnapshot`). */
export interface StatusLineInput {
  now: number;
  state: FailoverState;
  automation: AutomationStatus;
  effective: EffectiveFeed & { since: number };
  obs: { connection: string; lastError: string | null };
  /** When OBS's program scene last changed (engine clock), if known. */
  programSince: number | null;
  /** The effective feed's bitrate, when a source reports one. */
  bitrateKbps: number | null;
}

/** HH:MM:SS in the engine's local time (the dock runs on the same machine, or the same network). */
export function clockText(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

const seconds = (ms: number) =>
  `${Math.max(0, ms / 1000)
    .toFixed(1)
    .replace(/\.0$/, '')} s`;

/**
 * The one plain-language line on top of the dashboard: what is on air, why, and what happens next,
 * e.g. "BRB since 12:01:04 — no data from phone for 3 s; back to LIVE when healthy for 1.5 s".
 * Pure: a function of one snapshot, so it never contradicts the panels built from the same one.
 */
export function statusLine(i: StatusLineInput): DockStatus {
  const s = i.state;
  const a = i.automation;
  const eff = i.effective;
  if (s.fatal !== null) return { level: 'bad', text: `Automation stopped: ${s.fatal}`, since_ms: null };
  if (i.obs.connection !== 'connected') {
    const why = i.obs.lastError ?? 'connecting';
    return {
      level: 'bad',
      text: `OBS not connected — ${why}; no scene is switched until it is back`,
      since_ms: null,
    };
  }
  const program = s.programScene;
  const onAir = sceneOnAir(s);
  const role = onAir === null ? null : intentOfScene(onAir, s.scenes);
  const since = i.programSince;
  const head = onAir === null ? 'Program scene unknown' : role ? role : `'${onAir}'`;
  const at = since !== null && role !== null && role !== 'LIVE' ? ` since ${clockText(since)}` : '';
  if (a.state === 'blocked')
    return { level: 'bad', text: `${head}${at} — automation blocked: ${a.text}`, since_ms: since };
  if (!s.stream.active) {
    const what = program === null ? 'OBS' : `'${program}' in OBS`;
    const next =
      a.state === 'waiting'
        ? 'automation starts with the stream'
        : 'automation acts without a stream (only_while_streaming is off)';
    return { level: 'info', text: `Not streaming — ${what}; ${next}`, since_ms: null };
  }
  if (a.state === 'paused') return { level: 'warn', text: `${head}${at} — ${a.text}`, since_ms: since };
  const feedText = feedSentence(i);
  if (role === 'LIVE' || role === null) {
    const level = eff.health === 'normal' ? 'ok' : eff.health === 'unknown' ? 'info' : 'warn';
    return { level, text: `${head} — ${feedText}`, since_ms: since };
  }
  return { level: 'warn', text: `${head}${at} — ${feedText}; ${nextStep(i)}`, since_ms: since };
}

function feedSentence(i: StatusLineInput): string {
  const eff = i.effective;
  const held = i.now - eff.since;
  switch (eff.health) {
    case 'normal': {
      const rate = i.bitrateKbps !== null ? ` (${Math.round(i.bitrateKbps)} kb/s)` : '';
      return `feed healthy${rate} for ${seconds(held)}`;
    }
    case 'low':
      return `feed weak: ${eff.reason}`;
    case 'offline':
      return eff.reason;
    case 'unknown':
      return `feed unknown: ${eff.reason}`;
  }
}

/** What brings LIVE back (or stops the stream), for a failover scene on air. */
function nextStep(i: StatusLineInput): string {
  const s = i.state;
  const recover = seconds(s.params.recover_after_ms);
  const stopAt = offlineTimeoutAt(s);
  if (s.autoStop && !s.autoStop.issued) {
    const left = s.autoStop.onAirSince + s.params.offline_hold_s * 1000 - i.now;
    return `stopping the stream in ${seconds(left)}`;
  }
  if (s.autoStop?.issued) return 'stopping the stream';
  const picture = s.local.picture;
  if (i.effective.health === 'normal' && picture && !picture.playing) {
    return `back to LIVE once '${picture.input}' shows the picture (${picture.detail})`;
  }
  const commanded = s.commandAt !== null && !s.armed && s.target?.intent === 'LIVE';
  if (commanded) return 'put on air by a command; automation resumes when the feed changes';
  const stop = stopAt !== null ? `; the stream stops at ${clockText(stopAt)} if it stays offline` : '';
  return `back to LIVE when healthy for ${recover}${stop}`;
}
