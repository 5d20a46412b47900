import { type AutomationState, type Guard, guardText } from '@telemy/protocol';
import { type ActiveIntent, type FailoverState, firstAutoGuard, missingRoleScenes } from './machine.js';

/** How automation stands, as every view shows it: one state, the guard behind it, one sentence. */
export interface AutomationStatus {
  state: AutomationState;
  /** The guard that holds automation, or null when it is armed. */
  guard: Guard | null;
  text: string;
  /** Role scenes OBS lacks; `standIn` is the scene that goes on air instead (BRB only). */
  missing: Array<{ role: ActiveIntent; scene: string; standIn: string | null }>;
}

const PAUSED: ReadonlySet<Guard> = new Set(['manual_override', 'auto_scene_switch', 'unmanaged_scene']);

/**
 * Pure: the automation status of `s`. Something wrong (OBS or the shim link gone, a role scene
 * missing with nothing to stand in) is `blocked` and ranks above the streamer's own choices
 * (`paused`), which rank above `waiting` for the stream to start.
 */
export function automationStatus(s: FailoverState, via: 'ipc' | 'obs'): AutomationStatus {
  const missing = missingRoleScenes(s);
  const guard = firstAutoGuard(s);
  const result = (state: AutomationState, g: Guard | null, text: string): AutomationStatus => ({
    state,
    guard: g,
    text,
    missing,
  });
  if (guard === 'fatal') return result('blocked', guard, `automation stopped: ${s.fatal ?? 'fatal error'}`);
  if (guard === 'scene_path') {
    return result(
      'blocked',
      guard,
      via === 'ipc' ? 'the shim link to OBS is down: no scene can be switched' : 'OBS is not connected',
    );
  }
  if (guard === 'degraded') return result('blocked', guard, guardText('degraded'));
  const unplaceable = missing.find((m) => m.standIn === null);
  if (unplaceable) {
    return result(
      'blocked',
      'scene_missing',
      `scene '${unplaceable.scene}' does not exist in OBS: automation cannot put ${unplaceable.role} on air`,
    );
  }
  if (guard === 'unmanaged_scene') {
    return result(
      'paused',
      guard,
      `'${s.programScene}' is on air: automation waits until a Telemy scene is back`,
    );
  }
  if (guard !== null && PAUSED.has(guard))
    return result('paused', guard, `${guardText(guard)}: Telemy switches nothing by itself`);
  if (guard === 'not_streaming')
    return result('waiting', guard, 'OBS is not streaming: automation starts with the stream');
  if (guard !== null) return result('blocked', guard, guardText(guard));
  const standIn = missing.find((m) => m.standIn !== null);
  return result(
    'armed',
    null,
    standIn
      ? `scene '${standIn.scene}' is missing in OBS, '${standIn.standIn}' stands in for ${standIn.role}`
      : 'Telemy switches scenes when the feed changes',
  );
}
