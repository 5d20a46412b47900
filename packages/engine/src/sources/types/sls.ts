import { publisherStatsSource } from '../publisher-stats.js';
import type { SourceModule } from '../source-module.js';

/** SRT Live Server `/stats`: the publishers shape (`publisher` picks the stream id). */
export const source: SourceModule = publisherStatsSource('sls');
