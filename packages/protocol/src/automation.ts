/**
 * The automation contract every surface shares (engine, shim, dock, chat, local API): the automation
 * flags, the scene roles, the guards that hold or refuse a switch, and the error codes of a scene
 * switch. Each comes with the one sentence users see for it, so the dock, a chat reply and an API
 * error never word the same refusal differently.
 */

/** `[automation]` flags a streamer can flip at runtime (dock, local API, IPC, chat). */
export const AUTOMATION_FLAGS = [
  'auto_scene_switch',
  'low_quality_fallback',
  'manual_override',
  'only_while_streaming',
  'chat_bot',
  'alerts',
] as const;
export type AutomationFlag = (typeof AUTOMATION_FLAGS)[number];

/** The scene roles, which are also the intents automation and commands can ask for. */
export const SCENE_ROLES = ['LIVE', 'LOW', 'BRB', 'OFFLINE'] as const;
export type SceneRole = (typeof SCENE_ROLES)[number];

/** Roles `[scenes] fallback` may name: LIVE is never a stand-in for a failover scene. */
export const FALLBACK_ROLES = ['OFFLINE', 'LOW', 'BRB'] as const;
export type FallbackRole = (typeof FALLBACK_ROLES)[number];

/**
 * Why automation holds, or why an explicit command is refused. The first group blocks everything
 * (commands too); `manual_override` to `unmanaged_scene` hold automatic switches only.
 */
export const GUARDS = [
  'fatal',
  'scene_path',
  'degraded',
  'no_scene',
  'scene_missing',
  'manual_override',
  'auto_scene_switch',
  'not_streaming',
  'program_scene_unknown',
  'unmanaged_scene',
] as const;
export type Guard = (typeof GUARDS)[number];

const GUARD_TEXT: Record<Guard, string> = {
  fatal: 'the engine stopped automation after a fatal error',
  scene_path: 'the scene path to OBS is not ready',
  degraded: 'the engine is degraded (OBS or the shim link is unstable)',
  no_scene: 'that scene role has no OBS scene configured',
  scene_missing: 'that scene does not exist in OBS',
  manual_override: 'manual override is on',
  auto_scene_switch: 'automatic scene switching is off',
  not_streaming: 'OBS is not streaming',
  program_scene_unknown: "OBS's program scene is not known yet",
  unmanaged_scene: 'a scene Telemy does not manage is on air',
};

/** The plain sentence for a guard, as every surface shows it. */
export function guardText(guard: Guard): string {
  return GUARD_TEXT[guard];
}

/** How automation stands right now: what the dock's badge, `/api/state` and the status line say. */
export const AUTOMATION_STATES = ['armed', 'waiting', 'paused', 'blocked'] as const;
export type AutomationState = (typeof AUTOMATION_STATES)[number];

/** Why a scene switch failed; the direct path and the shim report the same codes. */
export const SWITCH_ERROR_CODES = [
  'obs_not_connected',
  'scene_missing',
  'obs_rejected',
  'not_confirmed',
  'deadline_exceeded',
  'scene_path_down',
] as const;
export type SwitchErrorCode = (typeof SWITCH_ERROR_CODES)[number];

export interface SwitchError {
  code: SwitchErrorCode;
  /** One line for people: what OBS said, or what was not confirmed. */
  message: string;
}

const SWITCH_ERROR_TEXT: Record<SwitchErrorCode, string> = {
  obs_not_connected: 'OBS is not connected',
  scene_missing: 'the scene does not exist in OBS',
  obs_rejected: 'OBS refused the switch',
  not_confirmed: 'OBS did not confirm the new scene',
  deadline_exceeded: 'OBS did not confirm the switch in time',
  scene_path_down: 'the scene path to OBS is down',
};

export function switchErrorText(code: SwitchErrorCode): string {
  return SWITCH_ERROR_TEXT[code];
}

export function isSwitchErrorCode(v: unknown): v is SwitchErrorCode {
  return typeof v === 'string' && (SWITCH_ERROR_CODES as readonly string[]).includes(v);
}
