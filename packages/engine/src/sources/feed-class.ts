/** How healthy the live feed is. */
export const FEED_CLASSES = ['normal', 'low', 'offline', 'unknown'] as const;
export type FeedClass = (typeof FEED_CLASSES)[number];
