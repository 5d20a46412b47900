/**
 * The engine's state as every surface names it (IPC status, DockState, `/api/state`, metrics,
 * the state machine itself): defined here once.
 */

/** The six top-level modes of the state machine (docs/ARCHITECTURE.md). */
export const MODES = ['STUDIO', 'IRL_CONNECTING', 'IRL_ACTIVE', 'IRL_GRACE', 'DEGRADED', 'FATAL'] as const;
export type Mode = (typeof MODES)[number];

/** How a feed is judged from its samples; `unknown` decides nothing. */
export const FEED_CLASSES = ['normal', 'low', 'offline', 'unknown'] as const;
export type FeedClass = (typeof FEED_CLASSES)[number];
