/**
 * The feed source types, in one place: the config file, the settings page and the engine all read
 * this table. It stays here, apart from the engine's type modules, because the dock (a browser
 * bundle) and the config schema need it and must not load engine code. The engine loads the module
 * of each entry by its name (`packages/engine/src/sources/types/<name>.ts`, `-` for `_`) and refuses
 * to start without it. `needs` is the field a source of that type cannot work without; `about` is
 * the one line the config template and the settings page show.
 */
export const SOURCE_TYPE_CATALOGUE = {
  obs_output: { needs: null, about: "OBS's own stream output (the default without sources)" },
  srt_live_transmit: { needs: 'stats_file', about: 'the JSON stats file of srt-live-transmit -pf:json' },
  sls: { needs: 'url', about: 'SRT Live Server /stats' },
  belabox: { needs: 'url', about: 'a BELABOX receiver stats endpoint' },
  mediamtx: { needs: 'url', about: 'MediaMTX /v3/paths/list' },
  nginx_rtmp: { needs: 'url', about: 'nginx-rtmp /stat' },
  node_media_server: { needs: 'url', about: 'node-media-server 4 /api/v1/streams (admin sign-in)' },
  nimble: { needs: 'url', about: 'Nimble Streamer /manage/rtmp_status or /manage/srt_receiver_stats' },
  obs_media_source: { needs: 'input', about: 'an OBS media source that plays the feed' },
  relay: { needs: null, about: "the Telemy relay's telemetry while an IRL session runs" },
} as const satisfies Record<string, SourceTypeInfo>;

export interface SourceTypeInfo {
  needs: 'url' | 'stats_file' | 'input' | null;
  about: string;
}

export type SourceType = keyof typeof SOURCE_TYPE_CATALOGUE;

export const SOURCE_TYPES = Object.keys(SOURCE_TYPE_CATALOGUE) as [SourceType, ...SourceType[]];

/** The field a source of `type` cannot work without, or null. */
export function sourceRequiredField(type: SourceType): SourceTypeInfo['needs'] {
  return SOURCE_TYPE_CATALOGUE[type].needs;
}
