import { publisherStatsSource } from '../publisher-stats.js';
import type { SourceModule } from '../source-module.js';

/** A BELABOX receiver's stats endpoint: the publishers shape (`publisher` picks the stream id). */
export const source: SourceModule = publisherStatsSource('belabox');
