import type { SourceType } from '@telemy/protocol';
import { mediamtxSource } from './mediamtx.js';
import { nginxRtmpSource } from './nginx-rtmp.js';
import { obsMediaSource } from './obs-media-source.js';
import { obsOutputSource } from './obs-output.js';
import { publisherStatsSource } from './publisher-stats.js';
import { relaySource } from './relay.js';
import type { SourceModule } from './source-module.js';
import { srtLiveTransmitSource } from './srt-live-transmit.js';

/**
 * Every feed source type, by its name in the shared source-type table; the type checker refuses a
 * table entry without a module here.
 */
export const SOURCE_MODULES = {
  obs_output: obsOutputSource,
  srt_live_transmit: srtLiveTransmitSource,
  sls: publisherStatsSource('sls'),
  belabox: publisherStatsSource('belabox'),
  mediamtx: mediamtxSource,
  nginx_rtmp: nginxRtmpSource,
  obs_media_source: obsMediaSource,
  relay: relaySource,
} satisfies Record<SourceType, SourceModule>;
