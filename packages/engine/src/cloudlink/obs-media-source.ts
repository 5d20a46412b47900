/**
 * Points an OBS media source at the relay's egress so the streamer pastes nothing into OBS.
 * Speaks obs-websocket 5 requests through whatever requester the OBS link
 * hands over.
 */
export interface ObsRequester {
  call(requestType: string, requestData?: Record<string, unknown>): Promise<unknown>;
}

export const RELAY_SOURCE_KIND = 'ffmpeg_source';
export const DEFAULT_RELAY_SOURCE_NAME = 'Telemy Relay';
const RESTART_ACTION = 'OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART';

/**
 * Media source settings for pulling a live SRT feed: a network input (not a file), MPEG-TS forced
 * so OBS does not spend time probing, a small buffer for latency, reconnect after 1 s (the
 * minimum) when the relay drops, kept open while another scene is on air so that going back to
 * LIVE is instant, and cleared rather than frozen on the last frame when the feed ends.
 */
export function relaySourceSettings(url: string): Record<string, unknown> {
  return {
    is_local_file: false,
    input: url,
    input_format: 'mpegts',
    buffering_mb: 1,
    reconnect_delay_sec: 1,
    restart_on_activate: false,
    close_when_inactive: false,
    clear_on_media_end: true,
  };
}

export interface EnsureRelaySourceOptions {
  /** The scene the source belongs in: the configured live scene. */
  sceneName: string;
  /** `relay.obs_source_name`. */
  inputName?: string;
  /** The relay's OBS source URL (`srt://host:egress?mode=caller&passphrase=…&latency=…`). */
  url: string;
}

export interface EnsureRelaySourceResult {
  input: 'created' | 'updated' | 'unchanged';
  /** True when an existing input had to be added to the scene. */
  addedToScene: boolean;
}

interface InputListEntry {
  inputName: string;
  inputKind: string;
  unversionedInputKind?: string;
}

/** Creates the relay media source, or brings an existing one up to date. Idempotent. */
export async function ensureRelayMediaSource(
  obs: ObsRequester,
  opts: EnsureRelaySourceOptions,
): Promise<EnsureRelaySourceResult> {
  const inputName = opts.inputName ?? DEFAULT_RELAY_SOURCE_NAME;
  const settings = relaySourceSettings(opts.url);
  const list = (await obs.call('GetInputList')) as { inputs?: InputListEntry[] };
  const existing = (list.inputs ?? []).find((i) => i.inputName === inputName);

  if (!existing) {
    await obs.call('CreateInput', {
      sceneName: opts.sceneName,
      inputName,
      inputKind: RELAY_SOURCE_KIND,
      inputSettings: settings,
      sceneItemEnabled: true,
    });
    return { input: 'created', addedToScene: false };
  }

  const kind = existing.unversionedInputKind ?? existing.inputKind;
  if (kind !== RELAY_SOURCE_KIND) {
    throw new Error(
      `OBS input "${inputName}" exists but is a ${kind}, not a media source; rename it or set relay.obs_source_name`,
    );
  }

  const current = (await obs.call('GetInputSettings', { inputName })) as {
    inputSettings?: Record<string, unknown>;
  };
  const have = current.inputSettings ?? {};
  const stale = Object.entries(settings).some(([k, v]) => have[k] !== v);
  if (stale) await obs.call('SetInputSettings', { inputName, inputSettings: settings, overlay: true });

  const items = (await obs.call('GetSceneItemList', { sceneName: opts.sceneName })) as {
    sceneItems?: { sourceName: string }[];
  };
  const inScene = (items.sceneItems ?? []).some((i) => i.sourceName === inputName);
  if (!inScene) {
    await obs.call('CreateSceneItem', {
      sceneName: opts.sceneName,
      sourceName: inputName,
      sceneItemEnabled: true,
    });
  }
  return { input: stale ? 'updated' : 'unchanged', addedToScene: !inScene };
}

/** "Fix media sources": restarts the relay input so it reconnects to the relay now. */
export async function fixMediaSources(
  obs: ObsRequester,
  inputName: string = DEFAULT_RELAY_SOURCE_NAME,
): Promise<void> {
  await obs.call('TriggerMediaInputAction', { inputName, mediaAction: RESTART_ACTION });
}
