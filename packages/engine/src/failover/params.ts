import { FAILOVER_BOUNDS as CONFIG_FAILOVER_BOUNDS, type FallbackRole } from '@telemy/protocol';
import { defaultConfig } from '../config/schema.js';

/**
 * Parameters of the failover engine, named exactly like the config file's keys so the
 * config sections can be passed in unchanged.
 */

/** `[failover]`. `grace_window_s` and `mode_debounce_ms` are engine tunables with fixed defaults. */
export interface FailoverParams {
  sample_interval_ms: number;
  low_bitrate_kbps: number;
  offline_bitrate_kbps: number;
  low_rtt_ms: number;
  offline_rtt_ms: number;
  offline_after_ms: number;
  low_after_ms: number;
  recover_after_ms: number;
  offline_timeout_s: number;
  offline_hold_s: number;
  switch_deadline_ms: number;
  grace_window_s?: number;
  mode_debounce_ms?: number;
}

export type ResolvedFailoverParams = Required<FailoverParams>;

/** `[automation]`. `chat_bot` may be unset in the file (resolved elsewhere); the engine ignores it. */
export interface AutomationFlags {
  auto_scene_switch: boolean;
  low_quality_fallback: boolean;
  manual_override: boolean;
  only_while_streaming: boolean;
  chat_bot?: boolean;
  alerts: boolean;
}

/** `[scenes]`. An empty `low` means "no LOW scene": LOW then behaves as HOLD. */
export interface SceneRoles {
  live: string;
  low: string;
  brb: string;
  offline: string;
  managed_extra: string[];
  /** Roles put on air instead of BRB when OBS has no BRB scene, first existing one wins. */
  fallback: FallbackRole[];
}

const CONFIG_DEFAULTS = defaultConfig();

/** The config file's defaults (one table, in `config/schema.ts`) plus the two engine tunables. */
export const FAILOVER_DEFAULTS: ResolvedFailoverParams = {
  ...CONFIG_DEFAULTS.failover,
  grace_window_s: 600,
  mode_debounce_ms: 250,
};

/**
 * Inclusive bounds. Why these: sampling faster than 100 ms only burns CPU on stats parsing and
 * slower than 10 s makes failover useless; a switch deadline under 100 ms fails on a busy OBS; the
 * grace window is at least 10 s (a phone changing cells) and at most an hour (cost bound); the
 * sustain windows allow 0 (act on the first sample) up to 2 minutes. 0 disables a threshold.
 */
export const FAILOVER_BOUNDS: Record<keyof ResolvedFailoverParams, { min: number; max: number }> = {
  ...CONFIG_FAILOVER_BOUNDS,
  grace_window_s: { min: 10, max: 3600 },
  mode_debounce_ms: { min: 0, max: 5000 },
};

export const AUTOMATION_DEFAULTS: AutomationFlags = CONFIG_DEFAULTS.automation;

export const SCENE_DEFAULTS: SceneRoles = CONFIG_DEFAULTS.scenes;

/** Fills the tunables the config file may omit; values outside the bounds are refused with the key. */
export function resolveFailoverParams(p: FailoverParams): ResolvedFailoverParams {
  const out: ResolvedFailoverParams = {
    ...p,
    grace_window_s: p.grace_window_s ?? FAILOVER_DEFAULTS.grace_window_s,
    mode_debounce_ms: p.mode_debounce_ms ?? FAILOVER_DEFAULTS.mode_debounce_ms,
  };
  for (const [key, { min, max }] of Object.entries(FAILOVER_BOUNDS)) {
    const v = out[key as keyof ResolvedFailoverParams];
    if (!Number.isFinite(v) || v < min || v > max) {
      throw new RangeError(`failover.${key} must be between ${min} and ${max}, got ${v}`);
    }
  }
  return out;
}

/** Every scene automation may switch away from (it never leaves a scene it does not manage). */
export function managedScenes(roles: SceneRoles): string[] {
  const out: string[] = [];
  for (const s of [roles.live, roles.low, roles.brb, roles.offline, ...roles.managed_extra]) {
    if (s !== '' && !out.includes(s)) out.push(s);
  }
  return out;
}
