import type { Logger } from '@telemy/protocol';
import type { LifecycleTimers } from '../config.js';
import type { Db } from '../db/types.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import type { RelayProvider } from '../providers/types.js';
import type { BackgroundTasks } from './background.js';

/** What the API handlers, the provisioner and the jobs share. */
export interface ControlPlaneContext {
  db: Db;
  provider: RelayProvider;
  /** Milliseconds since the epoch; injected so tests control time. */
  clock: () => number;
  timers: LifecycleTimers;
  metrics: ControlPlaneMetrics;
  log: Logger;
  /** The control plane URL relays report health to. */
  publicUrl: string;
  tasks: BackgroundTasks;
  /**
   * Called after this process committed a change to what the client routes read about the user
   * (`UserState`), so that its own next read sees it. Other processes learn of it from the database's
   * change notification, which also reaches this one, a little later.
   */
  userChanged: (userId: string) => void;
}
