import { confirmedSwitch, type SceneSwitchPort } from '@telemy/protocol';
import type { ObsLink } from '../obs/obs-link.js';
import type { SceneSwitcher, SwitchRequest, SwitchResult } from './scene-switcher.js';

/** The engine's `ObsLink` as the port the confirmed switch needs. */
export function obsLinkSwitchPort(link: ObsLink): SceneSwitchPort {
  return {
    identified: () => link.connected,
    setProgramScene: async (scene) => {
      await link.call('SetCurrentProgramScene', { sceneName: scene });
    },
    programScene: async () => (await link.call('GetCurrentProgramScene')).currentProgramSceneName ?? null,
    onSceneChanged: (listener) => {
      link.on('sceneChanged', listener);
      return () => link.off('sceneChanged', listener);
    },
  };
}

/**
 * Switches scenes directly over obs-websocket (`telemy engine` without a shim), with the same
 * confirmed switch the shim runs, so both paths report the same error codes.
 */
export class DirectSceneSwitcher implements SceneSwitcher {
  constructor(
    private readonly port: SceneSwitchPort,
    private readonly now: () => number = () => performance.now(),
  ) {}

  ready(): boolean {
    return this.port.identified();
  }

  switchScene(req: SwitchRequest): Promise<SwitchResult> {
    return confirmedSwitch(this.port, req.scene, req.deadlineMs, this.now);
  }
}
