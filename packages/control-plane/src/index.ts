export * from './auth/jwt.js';
export { VerifiedTokens } from './auth/verified-tokens.js';
export * from './config.js';
export { loadMigrations, MIGRATIONS_DIR, migrate } from './db/migrate.js';
export { openDatabase, pgliteDataDir } from './db/open.js';
export { createPgDb } from './db/pg.js';
export { createPgliteDb } from './db/pglite.js';
export { PgliteFolderInUse } from './db/pglite-lock.js';
export { RoundTripBatcher } from './db/round-trip-batcher.js';
export type { Db, LockResult, Queryable, QueryOptions, QueryResult } from './db/types.js';
export { ApiError } from './errors.js';
export {
  type ControlPlaneApp,
  type ControlPlaneHandle,
  type ControlPlaneOptions,
  createControlPlane,
} from './http/app.js';
export { runHealthRetention, runIdempotencyCleanup } from './jobs/cleanup.js';
export {
  MAX_PROVISION_ATTEMPTS,
  type ProvisioningRecoveryResult,
  runProvisioningRecovery,
} from './jobs/provisioning-recovery.js';
export { JOB_NAMES, type JobName, runJob } from './jobs/run-job.js';
export { JOBS, runJobNow, startJobScheduler } from './jobs/scheduler.js';
export { runOutageReconciliation, runUsageRollup } from './jobs/usage.js';
export { runWatchdog } from './jobs/watchdog.js';
export { type ControlPlaneMetrics, createMetrics } from './metrics.js';
export { PLANS, type Plan } from './plans.js';
export { FakeRelayProvider } from './providers/fake.js';

import './providers/builtin.js';

export {
  createLocalRelayProvider,
  LocalRelayProvider,
  type LocalRelayProviderOptions,
} from './providers/local.js';
export * from './providers/registry.js';
export type * from './providers/types.js';
export { type ControlPlaneRole, type RunningControlPlane, runControlPlane, seedManifest } from './server.js';
export type { ControlPlaneContext } from './service/context.js';
export { canTransition } from './service/transitions.js';
export {
  createApiKey,
  createUser,
  getUser,
  getUserByEmail,
  listUsers,
  registerApiKey,
  type UserRow,
} from './store/users.js';
