/** What the engine knows about OBS, as a plain JSON-able snapshot. */

export type ObsConnection = 'connecting' | 'connected' | 'disconnected' | 'auth_failed';

export interface ObsOutputInfo {
  /** OBS's internal output name, e.g. `simple_stream` (the `obs_id` of `[[outputs]]`). */
  name: string;
  kind: string;
  active: boolean;
  width: number | null;
  height: number | null;
  /** The output takes video from OBS's video mix (`outputFlags.OBS_OUTPUT_VIDEO`). */
  video: boolean;
}

export interface ObsState {
  connection: ObsConnection;
  /** One human line describing the last connection problem, or null while connected. */
  lastError: string | null;
  url: string;
  obsVersion: string | null;
  obsWebSocketVersion: string | null;
  /** Scene names in the order OBS shows them (top first). */
  scenes: string[];
  currentScene: string | null;
  streaming: boolean;
  recording: boolean;
  streamDurationMs: number | null;
  recordDurationMs: number | null;
  outputs: ObsOutputInfo[];
  /** Epoch ms of the current identified session, or null. */
  connectedSince: number | null;
  connectAttempts: number;
  reconnects: number;
}

export function initialObsState(url: string): ObsState {
  return {
    connection: 'connecting',
    lastError: null,
    url,
    obsVersion: null,
    obsWebSocketVersion: null,
    scenes: [],
    currentScene: null,
    streaming: false,
    recording: false,
    streamDurationMs: null,
    recordDurationMs: null,
    outputs: [],
    connectedSince: null,
    connectAttempts: 0,
    reconnects: 0,
  };
}

/** `GetSceneList` lists scenes bottom-up (`sceneIndex` 0 is the last one in OBS's list). */
export function orderScenes(scenes: ReadonlyArray<{ sceneName?: unknown; sceneIndex?: unknown }>): string[] {
  return [...scenes]
    .filter((s): s is { sceneName: string; sceneIndex?: unknown } => typeof s.sceneName === 'string')
    .sort((a, b) => Number(b.sceneIndex ?? 0) - Number(a.sceneIndex ?? 0))
    .map((s) => s.sceneName);
}

export function toOutputInfo(raw: Record<string, unknown>): ObsOutputInfo | null {
  if (typeof raw.outputName !== 'string') return null;
  const num = (v: unknown) => (typeof v === 'number' && v > 0 ? v : null);
  return {
    name: raw.outputName,
    kind: typeof raw.outputKind === 'string' ? raw.outputKind : 'unknown',
    active: raw.outputActive === true,
    width: num(raw.outputWidth),
    height: num(raw.outputHeight),
    // An output listed without flags is taken to carry video, as every output OBS itself creates does.
    video: (raw.outputFlags as { OBS_OUTPUT_VIDEO?: unknown } | null | undefined)?.OBS_OUTPUT_VIDEO !== false,
  };
}
