import { EventEmitter } from 'node:events';
import type { Logger } from '@telemy/protocol';
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

/** How long after a successful request a missing `CurrentProgramSceneChanged` is checked by read-back. */
const CONFIRM_BY_EVENT_MS = 100;

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
   * Puts `scene` on program and confirms it (event, else read-back) before `deadlineAt`.
   * Resolves with an error text instead of throwing.
   */
  async switchScene(scene: string, deadlineAt: number, now: () => number = Date.now): Promise<string | null> {
    if (!this.identified) return 'obs_not_connected';
    let onChange: ((e: { sceneName: string }) => void) | null = null;
    const confirmed = new Promise<void>((resolve) => {
      onChange = (e) => {
        if (e.sceneName === scene) resolve();
      };
      this.obs.on('CurrentProgramSceneChanged', onChange);
    });
    let deadlineTimer: NodeJS.Timeout | null = null;
    const deadline = new Promise<string>((resolve) => {
      deadlineTimer = setTimeout(() => resolve('deadline_exceeded'), Math.max(0, deadlineAt - now()));
    });
    const attempt = async (): Promise<string | null> => {
      try {
        await this.obs.call('SetCurrentProgramScene', { sceneName: scene });
      } catch (err) {
        return `obs_rejected: ${(err as Error).message}`.slice(0, 200);
      }
      const byEvent = await Promise.race([
        confirmed.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), CONFIRM_BY_EVENT_MS)),
      ]);
      if (byEvent) return null;
      const readBack = await this.obs.call('GetCurrentProgramScene');
      return readBack.currentProgramSceneName === scene
        ? null
        : `not_confirmed: program scene is ${readBack.currentProgramSceneName}`;
    };
    try {
      return await Promise.race([attempt(), deadline]);
    } catch (err) {
      return `obs_error: ${(err as Error).message}`.slice(0, 200);
    } finally {
      if (deadlineTimer) clearTimeout(deadlineTimer);
      if (onChange) this.obs.off('CurrentProgramSceneChanged', onChange);
    }
  }

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
