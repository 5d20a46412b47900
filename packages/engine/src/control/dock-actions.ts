import type { DockAction, DockActionResult } from '@telemy/protocol';
import type { CloudLink } from '../cloudlink/cloudlink.js';
import type { ControlOutcome, EngineControl } from './engine-control.js';

export interface DockActionDeps {
  control: EngineControl;
  cloud: () => CloudLink | null;
  ackEvent: (id: number) => boolean;
}

/**
 * Carries out one validated dock action through EngineControl. A scene switch reports `accepted` at
 * once and `completed` only when OBS confirmed it (docs/reference/dock-state.md, "Actions").
 */
export async function handleDockAction(
  action: DockAction,
  progress: (r: DockActionResult) => void,
  deps: DockActionDeps,
): Promise<DockActionResult> {
  const { control } = deps;
  const base = { action_id: action.action_id, action: action.type };
  const done = (o: ControlOutcome): DockActionResult =>
    o.ok
      ? { ...base, status: 'completed', reason: o.message }
      : {
          ...base,
          status: 'rejected',
          reason: o.message,
          ...(o.field_errors && Object.keys(o.field_errors).length > 0
            ? { field_errors: o.field_errors }
            : {}),
        };
  const accepted = () => progress({ ...base, status: 'accepted' });

  switch (action.type) {
    case 'switch_scene':
      accepted();
      return done(await control.switchScene(action.scene, 'dock'));
    case 'set_setting':
      return done(control.setFlag(action.key, action.value));
    case 'set_thresholds':
      return done(control.setThresholds(action.thresholds));
    case 'set_scene_roles':
      return done(control.setSceneRoles(action.roles));
    case 'set_output_config':
      return done(control.setOutputConfig(action.output));
    case 'set_obs_connection':
      return done(control.setObsConnection(action.obs));
    case 'save_settings':
      return done(control.saveSettings(action.settings));
    case 'set_mode':
    case 'relay_start':
    case 'relay_stop': {
      const on = action.type === 'relay_start' || (action.type === 'set_mode' && action.mode === 'irl');
      accepted();
      return done(on ? await control.relayStart('dashboard') : await control.relayStop());
    }
    case 'reveal_pairing': {
      const cloud = deps.cloud();
      if (!cloud) return { ...base, status: 'rejected', reason: 'the cloud relay is off' };
      if (!action.reveal) {
        cloud.hidePairing();
        return { ...base, status: 'completed' };
      }
      const pairing = await cloud.revealPairing();
      return pairing
        ? { ...base, status: 'completed' }
        : { ...base, status: 'rejected', reason: 'no relay session with pairing details' };
    }
    case 'fix_media_sources':
      accepted();
      return done(await control.fixMediaSources());
    case 'ack_event':
      return deps.ackEvent(action.event_id)
        ? { ...base, status: 'completed' }
        : { ...base, status: 'rejected', reason: `no event ${action.event_id}` };
  }
}
