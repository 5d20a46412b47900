import type { SceneSwitcher, SwitchRequest, SwitchResult } from '../scenes/scene-switcher.js';
import type { IpcServer } from './ipc-server.js';

/** The scene path through the shim: ready only while the IPC session is up and pinging (`ipc_ready`). */
export class IpcSceneSwitcher implements SceneSwitcher {
  constructor(private readonly server: IpcServer) {}

  ready(): boolean {
    return this.server.ready;
  }

  async switchScene(req: SwitchRequest): Promise<SwitchResult> {
    const r = await this.server.switchScene({
      request_id: req.requestId,
      scene_name: req.scene,
      reason: req.reason,
      deadline_ms: req.deadlineMs,
    });
    return { ok: r.ok, error: r.error, latencyMs: r.latency_ms };
  }
}
