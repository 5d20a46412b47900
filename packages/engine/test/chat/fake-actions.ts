import type {
  ActionResult,
  AutomationSetting,
  ChatActions,
  ChatSource,
  CommandName,
  ThresholdName,
} from '../../src/chat/index.js';

export interface ActionCall {
  method: string;
  args: unknown[];
  source?: ChatSource;
}

/** ChatActions that records every call and answers like the engine would (replies included). */
export class FakeChatActions implements ChatActions {
  readonly calls: ActionCall[] = [];
  scenes = ['LIVE', 'BRB', 'PRIVACY'];
  values: Record<ThresholdName, number> = {
    low_bitrate_kbps: 800,
    offline_bitrate_kbps: 200,
    low_rtt_ms: 2500,
  };
  /** Set to make intents/switches fail a guard. */
  guard: string | null = null;
  /** Called on every recorded call (latency measurements). */
  onCall: ((c: ActionCall) => void) | null = null;

  private rec(method: string, args: unknown[], source?: ChatSource): void {
    const c: ActionCall = source ? { method, args, source } : { method, args };
    this.calls.push(c);
    this.onCall?.(c);
  }

  private guarded(reply: string): ActionResult {
    return this.guard
      ? { ok: false, reply: `blocked: ${this.guard}`, blocked_by_guard: this.guard }
      : { ok: true, reply };
  }

  async explicitIntent(intent: 'LIVE' | 'BRB' | 'OFFLINE', source: ChatSource): Promise<ActionResult> {
    this.rec('explicitIntent', [intent], source);
    return this.guarded(`switched to ${intent}`);
  }
  async switchToScene(name: string, source: ChatSource): Promise<ActionResult> {
    this.rec('switchToScene', [name], source);
    return this.guarded(`switched to ${name}`);
  }
  async listScenes(): Promise<string[]> {
    this.rec('listScenes', []);
    return [...this.scenes];
  }
  async setSetting(key: AutomationSetting, value: boolean, source: ChatSource): Promise<ActionResult> {
    this.rec('setSetting', [key, value], source);
    return { ok: true, reply: `${key} ${value ? 'on' : 'off'}` };
  }
  async thresholds(): Promise<Record<ThresholdName, number>> {
    this.rec('thresholds', []);
    return { ...this.values };
  }
  async setThreshold(name: ThresholdName, value: number, source: ChatSource): Promise<ActionResult> {
    this.rec('setThreshold', [name, value], source);
    this.values[name] = value;
    return { ok: true, reply: `${name} set to ${value}` };
  }
  async status(): Promise<ActionResult> {
    this.rec('status', []);
    return { ok: true, reply: 'STUDIO, feed normal, 6000 kbps, scene LIVE' };
  }
  async bitrates(): Promise<ActionResult> {
    this.rec('bitrates', []);
    return { ok: true, reply: 'obs: 6000 kbps' };
  }
  async irl(on: boolean, source: ChatSource): Promise<ActionResult> {
    this.rec('irl', [on], source);
    return { ok: true, reply: `relay ${on ? 'starting' : 'stopping'}` };
  }
  async startStream(source: ChatSource): Promise<ActionResult> {
    this.rec('startStream', [], source);
    return { ok: true, reply: 'stream started' };
  }
  async stopStream(source: ChatSource): Promise<ActionResult> {
    this.rec('stopStream', [], source);
    return { ok: true, reply: 'stream stopped' };
  }
  async toggleRecord(source: ChatSource): Promise<ActionResult> {
    this.rec('toggleRecord', [], source);
    return { ok: true, reply: 'recording started' };
  }
  async fixMediaSources(source: ChatSource): Promise<ActionResult> {
    this.rec('fixMediaSources', [], source);
    return { ok: true, reply: 'media sources restarted' };
  }
  async setAlias(alias: string, command: CommandName | null, source: ChatSource): Promise<ActionResult> {
    this.rec('setAlias', [alias, command], source);
    return { ok: true, reply: command ? `alias ${alias} → ${command}` : `alias ${alias} removed` };
  }

  /** Calls that change something (not reads). */
  mutations(): ActionCall[] {
    return this.calls.filter((c) => !['listScenes', 'thresholds', 'status', 'bitrates'].includes(c.method));
  }
}
