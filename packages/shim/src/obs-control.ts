import { EventEmitter } from 'node:events';
import { confirmedSwitch, type Logger, type SceneSwitchPort, type SwitchError } from '@telemy/protocol';
import OBSWebSocket from 'obs-websocket-js';

export interface ObsTarget {
  host: string;
  port: number;
  /** Empty or absent when obs-websocket runs without authentication. Never logged. */
  password?: string | null;
}

type ObsControlEvents = {
  /** Scene names in OBS's UI order (top first) and the current program scene. */
  scenes: [{ scenes: string[]; current: string | null }];
  /** OBS announced it is exiting (obs-websocket `ExitStarted`). */
  exit: [];
  connected: [];
  disconnected: [];
};

/**
 * The shim's own obs-websocket session: keeps reconnecting, tracks the scene list and the program
 * scene, and executes one confirmed scene switch at a time.
 */
export class ObsControl extends EventEmitter<ObsControlEvents> {
  private readonly obs = new OBSWebSocket();
  private readonly log: Logger;
  private identified = false;
  private running = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private sceneNames: string[] = [];
  private current: string | null = null;

  constructor(
    private readonly target: ObsTarget,
    logger: Logger,
    private readonly retryMs = 1000,
  ) {
    super();
    this.log = logger.child({ component: 'shim-obs' });
    this.obs.on('ConnectionClosed', () => this.onClosed());
    this.obs.on('ExitStarted', () => {
      this.log.info('OBS is exiting');
      this.emit('exit');
    });
    this.obs.on('CurrentProgramSceneChanged', ({ sceneName }) => {
      this.current = sceneName;
      this.emitScenes();
    });
    this.obs.on('SceneListChanged', () => void this.refreshScenes());
  }

  get connected(): boolean {
    return this.identified;
  }

  get scenes(): { scenes: string[]; current: string | null } {
    return { scenes: [...this.sceneNames], current: this.current };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.obs.disconnect().catch(() => {});
  }

  /**
   * Puts `scene` on program and confirms it before `deadlineAt` (epoch ms), with the same confirmed
   * switch as the engine's direct path. Resolves with the error instead of throwing.
   */
  async switchScene(
    scene: string,
    deadlineAt: number,
    now: () => number = Date.now,
  ): Promise<SwitchError | null> {
    const r = await confirmedSwitch(this.port, scene, deadlineAt - now());
    return r.error;
  }

  private readonly port: SceneSwitchPort = {
    identified: () => this.identified,
    setProgramScene: async (scene) => {
      await this.obs.call('SetCurrentProgramScene', { sceneName: scene });
    },
    programScene: async () => (await this.obs.call('GetCurrentProgramScene')).currentProgramSceneName ?? null,
    onSceneChanged: (listener) => {
      const handler = (e: { sceneName: string }) => listener(e.sceneName);
      this.obs.on('CurrentProgramSceneChanged', handler);
      return () => this.obs.off('CurrentProgramSceneChanged', handler);
    },
  };

  private async connect(): Promise<void> {
    if (!this.running) return;
    const url = `ws://${this.target.host}:${this.target.port}`;
    try {
      await this.obs.connect(url, this.target.password || undefined);
      this.identified = true;
      this.log.info({ url }, 'connected to OBS');
      this.emit('connected');
      await this.refreshScenes();
    } catch (err) {
      this.log.debug({ url, err: (err as Error).message }, 'OBS not reachable yet');
      this.scheduleRetry();
    }
  }

  private onClosed(): void {
    const was = this.identified;
    this.identified = false;
    if (was) {
      this.log.warn('OBS connection closed');
      this.emit('disconnected');
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (!this.running || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.identified) void this.connect();
    }, this.retryMs);
  }

  private async refreshScenes(): Promise<void> {
    try {
      const list = await this.obs.call('GetSceneList');
      // obs-websocket lists the bottom scene first; OBS's UI shows the highest index on top.
      this.sceneNames = [...list.scenes]
        .sort((a, b) => Number(b.sceneIndex) - Number(a.sceneIndex))
        .map((s) => String(s.sceneName));
      this.current = list.currentProgramSceneName ?? null;
      this.emitScenes();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read the OBS scene list');
    }
  }

  private emitScenes(): void {
    this.emit('scenes', this.scenes);
  }
}
