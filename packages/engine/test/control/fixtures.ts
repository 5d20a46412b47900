import { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@telemy/protocol';
import { ConfigStore, defaultConfig, type TelemyConfig } from '../../src/config/index.js';
import { EngineControl } from '../../src/control/engine-control.js';
import { FailoverController } from '../../src/failover/controller.js';
import { EngineMetrics } from '../../src/metrics/metrics.js';
import type { ObsLink, ObsLinkEvents } from '../../src/obs/obs-link.js';
import { initialObsState, type ObsState } from '../../src/obs/obs-state.js';
import type { SceneSwitcher, SwitchRequest, SwitchResult } from '../../src/scenes/scene-switcher.js';
import { Vault } from '../../src/vault/index.js';

export const silent = createLogger('control-test', { level: 'silent' });

/**
 * An OBS link that answers like obs-websocket 5 does for the requests the control layer makes, and
 * emits the link's events. `streamStartsAfterMs` is how long OBS takes to report the output active.
 */
export class FakeObs extends EventEmitter<ObsLinkEvents> {
  readonly url = 'ws://127.0.0.1:4455';
  readonly calls: string[] = [];
  st: ObsState = {
    ...initialObsState('ws://127.0.0.1:4455'),
    connection: 'connected',
    scenes: ['LIVE', 'LOW', 'BRB', 'OFFLINE'],
    currentScene: 'LIVE',
  };
  streamStartsAfterMs: number | null = 30;
  /** Requests OBS accepts and then ignores (a start while its last output is still stopping). */
  ignoreNext = 0;
  mediaStatus: Record<string, unknown> | Error = { mediaState: 'OBS_MEDIA_STATE_PLAYING' };
  /** Requests OBS answers with a failure, by request type. */
  refusals: Record<string, Error> = {};

  get connected(): boolean {
    return this.st.connection === 'connected';
  }

  state(): ObsState {
    return { ...this.st, scenes: [...this.st.scenes] };
  }

  async call(request: string): Promise<Record<string, unknown>> {
    this.calls.push(request);
    const refusal = this.refusals[request];
    if (refusal) throw refusal;
    if (request === 'StartStream' || request === 'StopStream') {
      const active = request === 'StartStream';
      if (this.ignoreNext > 0) {
        this.ignoreNext -= 1;
        return {};
      }
      const after = this.streamStartsAfterMs;
      if (after !== null) {
        setTimeout(() => {
          this.st = { ...this.st, streaming: active };
          this.emit('streamStateChanged', active);
        }, after);
      }
      return {};
    }
    if (request === 'GetMediaInputStatus') {
      if (this.mediaStatus instanceof Error) throw this.mediaStatus;
      return this.mediaStatus;
    }
    if (request === 'GetCurrentProgramScene') return { currentProgramSceneName: this.st.currentScene };
    return {};
  }

  setPassword(): void {}

  asLink(): ObsLink {
    return this as unknown as ObsLink;
  }
}

/** A scene path that OBS confirms after 20 ms, or refuses with `failWith`. */
export class FakeSwitcher implements SceneSwitcher {
  up = true;
  failWith: SwitchResult['error'] = null;
  readonly requests: SwitchRequest[] = [];
  onScene: (scene: string) => void = () => {};

  ready(): boolean {
    return this.up;
  }

  async switchScene(req: SwitchRequest): Promise<SwitchResult> {
    this.requests.push(req);
    await new Promise((r) => setTimeout(r, 20));
    if (this.failWith) return { ok: false, error: this.failWith, latencyMs: 20 };
    this.onScene(req.scene);
    return { ok: true, error: null, latencyMs: 20 };
  }
}

export interface ControlRig {
  obs: FakeObs;
  switcher: FakeSwitcher;
  controller: FailoverController;
  store: ConfigStore;
  vault: Vault;
  control: EngineControl;
  metrics: EngineMetrics;
}

/** A real FailoverController, ConfigStore (temp file) and Vault behind a real EngineControl. */
export async function controlRig(config: TelemyConfig = defaultConfig()): Promise<ControlRig> {
  const dir = mkdtempSync(join(tmpdir(), 'telemy-control-'));
  const obs = new FakeObs();
  const switcher = new FakeSwitcher();
  const metrics = new EngineMetrics();
  const store = new ConfigStore(config, null, join(dir, 'config.toml'));
  const vault = await Vault.open(dir, { keyring: null });
  const controller = new FailoverController({
    params: config.failover,
    flags: { ...config.automation },
    scenes: config.scenes,
    switcher,
    scenePathVia: 'obs',
    metrics,
    logger: silent,
  });
  switcher.onScene = (scene) => {
    obs.st = { ...obs.st, currentScene: scene };
    controller.programScene(scene);
  };
  controller.sceneList(obs.st.scenes);
  controller.programScene(obs.st.currentScene);
  const control = new EngineControl({
    controller,
    obs: obs.asLink(),
    store,
    vault,
    cloud: () => null,
    logger: silent,
    streamStateTimeoutMs: 300,
  });
  return { obs, switcher, controller, store, vault, control, metrics };
}
