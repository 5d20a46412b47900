/** How healthy the live feed is (`10-state-machine.md` §2). */
export const FEED_CLASSES = ['normal', 'low', 'offline', 'unknown'] as const;
export type FeedClass = (typeof FEED_CLASSES)[number];
