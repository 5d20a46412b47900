import type { CommandName, Platform } from './config.js';

/** Who asked, carried into the engine so its event log and intent decisions can name the source. */
export interface ChatSource {
  kind: 'chat';
  platform: Platform;
  user_name: string;
  request_id: string;
}

export interface ActionResult {
  ok: boolean;
  /** One short human sentence for the chat reply (no secrets, no stack traces). */
  reply: string;
  /** Set when a guard of the state machine refused the action: its code (e.g. `scene_path`). */
  blocked_by_guard?: string;
  /** For the audit record only. */
  detail?: string;
}

export type ThresholdName = 'low_bitrate_kbps' | 'offline_bitrate_kbps' | 'low_rtt_ms';
export type AutomationSetting = 'auto_scene_switch' | 'manual_override';

/**
 * What chat may do: the same paths the dock and the CLI use. The engine implements it; each call
 * resolves (never rejects on a refusal) with the outcome and a reply.
 */
export interface ChatActions {
  explicitIntent(intent: 'LIVE' | 'LOW' | 'BRB' | 'OFFLINE', source: ChatSource): Promise<ActionResult>;
  /** Resolves after OBS confirmed the switch (or refused it). */
  switchToScene(name: string, source: ChatSource): Promise<ActionResult>;
  listScenes(): Promise<string[]>;
  /** Persisted to the config file by the engine's config writer. */
  setSetting(key: AutomationSetting, value: boolean, source: ChatSource): Promise<ActionResult>;
  /** Current failover thresholds, for `!trigger` without an argument. */
  thresholds(): Promise<Record<ThresholdName, number>>;
  /** Persisted to the config file by the engine's config writer. */
  setThreshold(name: ThresholdName, value: number, source: ChatSource): Promise<ActionResult>;
  status(): Promise<ActionResult>;
  bitrates(): Promise<ActionResult>;
  /** Every feed source: its state, bitrate, RTT and why. */
  sourceInfo(): Promise<ActionResult>;
  /** OBS: streaming or not, program scene, output bitrate, dropped frames, encoding lag. */
  obsInfo(): Promise<ActionResult>;
  irl(on: boolean, source: ChatSource): Promise<ActionResult>;
  startStream(source: ChatSource): Promise<ActionResult>;
  stopStream(source: ChatSource): Promise<ActionResult>;
  toggleRecord(source: ChatSource): Promise<ActionResult>;
  fixMediaSources(source: ChatSource): Promise<ActionResult>;
  /** Restarts the one OBS media source that plays the feed now (the relay's during IRL). */
  refreshFeedSource(source: ChatSource): Promise<ActionResult>;
  /** `[chat] announce_auto_switch`, persisted. */
  setNotify(on: boolean, source: ChatSource): Promise<ActionResult>;
  /** `[chat] prefix` (already validated), persisted. */
  setPrefix(prefix: string, source: ChatSource): Promise<ActionResult>;
  /** Adds (`command` set) or removes (`command` null) an alias in `[chat.commands.*].aliases`, persisted. */
  setAlias(alias: string, command: CommandName | null, source: ChatSource): Promise<ActionResult>;
}
