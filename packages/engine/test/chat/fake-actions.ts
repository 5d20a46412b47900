import { type Guard, guardText } from '@telemy/protocol';
import type {
  ActionResult,
  AutomationSetting,
  ChatActions,
  ChatSource,
  CommandName,
  ThresholdName,
} from '../../src/chat/index.js';
import { chatResult } from '../../src/control/chat-actions.js';

export interface ActionCall {
  method: string;
  args: unknown[];
  source?: ChatSource;
}

/**
 * ChatActions that records every call and answers like the engine would: replies are the engine's
 * words, a refusal is one of the engine's guards mapped by the engine's own `chatResult`, so a test
 * can only see outcomes the real code can produce.
 */
export class FakeChatActions implements ChatActions {
  readonly calls: ActionCall[] = [];
  scenes = ['LIVE', 'BRB', 'PRIVACY'];
  values: Record<ThresholdName, number> = {
    low_bitrate_kbps: 800,
    offline_bitrate_kbps: 200,
    low_rtt_ms: 2500,
  };
  /** Set to make intents/switches fail a guard, as the state machine would. */
  guard: Guard | null = null;
  /** Set to make the config writer refuse `!notify` / `!prefix`. */
  saveFails = false;
  /** Called on every recorded call (latency measurements). */
  onCall: ((c: ActionCall) => void) | null = null;

  private rec(method: string, args: unknown[], source?: ChatSource): void {
    const c: ActionCall = source ? { method, args, source } : { method, args };
    this.calls.push(c);
    this.onCall?.(c);
  }

  private switched(scene: string, source: ChatSource): ActionResult {
    return chatResult(
      this.guard
        ? { ok: false, guard: this.guard, message: `could not switch to ${scene}: ${guardText(this.guard)}` }
        : { ok: true, message: `switched to ${scene}`, request_id: source.request_id },
    );
  }

  async explicitIntent(
    intent: 'LIVE' | 'LOW' | 'BRB' | 'OFFLINE',
    source: ChatSource,
  ): Promise<ActionResult> {
    this.rec('explicitIntent', [intent], source);
    return this.switched(intent, source);
  }
  async switchToScene(name: string, source: ChatSource): Promise<ActionResult> {
    this.rec('switchToScene', [name], source);
    return this.switched(name, source);
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
    return { ok: true, reply: 'LIVE — feed healthy (6000 kb/s) for 12 s · STUDIO · relay inactive' };
  }
  async bitrates(): Promise<ActionResult> {
    this.rec('bitrates', []);
    return { ok: true, reply: 'obs: 6000 kb/s, RTT ? ms (normal)' };
  }
  async sourceInfo(): Promise<ActionResult> {
    this.rec('sourceInfo', []);
    return { ok: true, reply: 'phone: normal, 4200 kb/s, RTT 80 ms — bitrate 4200 kb/s above 800' };
  }
  async obsInfo(): Promise<ActionResult> {
    this.rec('obsInfo', []);
    return { ok: true, reply: 'OBS live for 12 min · scene LIVE · 6000 kb/s · dropped frames 0.0%' };
  }
  async irl(on: boolean, source: ChatSource): Promise<ActionResult> {
    this.rec('irl', [on], source);
    return { ok: true, reply: on ? 'relay provisioning (local)' : 'relay stopped' };
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
    return { ok: true, reply: 'restarted Telemy Relay' };
  }
  async refreshFeedSource(source: ChatSource): Promise<ActionResult> {
    this.rec('refreshFeedSource', [], source);
    return { ok: true, reply: 'restarted Phone' };
  }
  async setNotify(on: boolean, source: ChatSource): Promise<ActionResult> {
    this.rec('setNotify', [on], source);
    return this.saved('announcement setting');
  }
  async setPrefix(prefix: string, source: ChatSource): Promise<ActionResult> {
    this.rec('setPrefix', [prefix], source);
    return this.saved('prefix');
  }
  private saved(what: string): ActionResult {
    return this.saveFails
      ? { ok: false, reply: `could not save the ${what}`, detail: 'disk full' }
      : { ok: true, reply: `${what} saved` };
  }
  async setAlias(alias: string, command: CommandName | null, source: ChatSource): Promise<ActionResult> {
    this.rec('setAlias', [alias, command], source);
    return { ok: true, reply: command ? `alias !${alias} → !${command}` : `alias !${alias} removed` };
  }

  /** Calls that change something (not reads). */
  mutations(): ActionCall[] {
    const reads = ['listScenes', 'thresholds', 'status', 'bitrates', 'sourceInfo', 'obsInfo'];
    return this.calls.filter((c) => !reads.includes(c.method));
  }
}
