import type { SwitchError, SwitchReason } from '@telemy/protocol';

export type { SwitchReason };

export interface SwitchRequest {
  /** Unique per switch; carried into logs, events, IPC and the result. */
  requestId: string;
  scene: string;
  reason: SwitchReason;
  /** How long the executor may take before the switch counts as failed. */
  deadlineMs: number;
}

export interface SwitchResult {
  ok: boolean;
  /** Why it failed (a code both switch paths share, and one line); null when ok. */
  error: SwitchError | null;
  /** From the request to OBS confirming the new program scene (or to the failure). */
  latencyMs: number;
}

/**
 * The path that puts a scene on air: directly over obs-websocket (`DirectSceneSwitcher`) or through
 * the shim over IPC. The failover controller only talks to this interface.
 */
export interface SceneSwitcher {
  /** False while the path cannot execute a switch (IPC down, OBS session not identified). */
  ready(): boolean;
  switchScene(req: SwitchRequest): Promise<SwitchResult>;
}
