import fs from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { JobName, LifecycleTimers } from '@telemy/control-plane';
import type { Vault } from '@telemy/engine/vault';
import { type Logger, telemyPaths } from '@telemy/protocol';

const USER_ID_KEY = 'embedded_user_id';
const JWT_SECRET_KEY = 'embedded_jwt_secret';

export interface EmbeddedCloud {
  url: string;
  close(): Promise<void>;
}

/**
 * Session timers and the watchdog period of the embedded control plane, from the environment
 * (end-to-end tests and trials shorten them; the defaults are the spec's):
 * `TELEMY_CP_GRACE_WINDOW_S` (600), `TELEMY_CP_HEALTH_SILENCE_GRACE_S` (30),
 * `TELEMY_CP_HEALTH_LOST_S` (180), `TELEMY_CP_PROVISIONING_TIMEOUT_S` (300),
 * `TELEMY_CP_WATCHDOG_INTERVAL_MS` (30000).
 */
export const EMBEDDED_TIMER_ENV = {
  graceWindowSeconds: 'TELEMY_CP_GRACE_WINDOW_S',
  healthSilenceGraceSeconds: 'TELEMY_CP_HEALTH_SILENCE_GRACE_S',
  healthLostSeconds: 'TELEMY_CP_HEALTH_LOST_S',
  provisioningTimeoutSeconds: 'TELEMY_CP_PROVISIONING_TIMEOUT_S',
} as const satisfies Partial<Record<keyof LifecycleTimers, string>>;
export const EMBEDDED_WATCHDOG_ENV = 'TELEMY_CP_WATCHDOG_INTERVAL_MS';

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

export function embeddedTimersFromEnv(env: NodeJS.ProcessEnv): {
  timers: Partial<LifecycleTimers>;
  jobPeriodsMs: Partial<Record<JobName, number>>;
} {
  const timers: Partial<LifecycleTimers> = {};
  for (const [key, name] of Object.entries(EMBEDDED_TIMER_ENV) as [keyof LifecycleTimers, string][]) {
    const v = positiveInt(env, name);
    if (v !== undefined) timers[key] = v;
  }
  const watchdog = positiveInt(env, EMBEDDED_WATCHDOG_ENV);
  return { timers, jobPeriodsMs: watchdog === undefined ? {} : { watchdog } };
}

/** Where the embedded control plane records its address: `<data>/cloud/embedded-control-plane.json`. */
export function embeddedStateFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(telemyPaths(env).data, 'cloud', 'embedded-control-plane.json');
}

/** The address the embedded control plane last listened on, if recorded. */
export function readEmbeddedAddress(
  env: NodeJS.ProcessEnv = process.env,
): { url: string; port: number } | null {
  try {
    const parsed = JSON.parse(fs.readFileSync(embeddedStateFile(env), 'utf8')) as {
      url?: unknown;
      port?: unknown;
    };
    return typeof parsed.url === 'string' && typeof parsed.port === 'number'
      ? { url: parsed.url, port: parsed.port }
      : null;
  } catch {
    return null;
  }
}

function writeEmbeddedAddress(url: string, port: number): void {
  const file = embeddedStateFile();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ url, port, pid: process.pid }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The embedded control plane before it starts: its address is fixed first so the engine can use it. */
export interface PreparedEmbeddedCloud {
  url: string;
  /** Opens PGlite, migrates, listens, and makes the local user and API key on first run. */
  start(vault: Vault, apiKeyName: string): Promise<EmbeddedCloud>;
}

/**
 * `cloud.mode = "embedded"`: the control plane runs inside this process on PGlite in the data folder,
 * with the `local` relay provider, and a local user and API key made on first run — so one machine
 * can do the whole IRL flow with no account anywhere. Its secrets live in the vault.
 *
 * It listens on the same port as last time when it can: local relays outlive an engine restart and
 * keep sending their health reports to the address they were given at provisioning.
 */
export async function prepareEmbeddedCloud(logger: Logger): Promise<PreparedEmbeddedCloud> {
  const { timers, jobPeriodsMs } = embeddedTimersFromEnv(process.env);
  const previous = readEmbeddedAddress()?.port ?? null;
  const port = (previous !== null && (await portFree(previous)) ? previous : null) ?? (await freePort());
  if (previous !== null && port !== previous) {
    logger.warn(
      { previous, port },
      'embedded control plane: its previous port is taken; relays started before keep reporting to the old one',
    );
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async start(vault, apiKeyName) {
      // Loaded only now: the engine is already up and answering the shim while this loads.
      const { createApiKey, createUser, getUser, runControlPlane } = await import('@telemy/control-plane');
      const { TELEMY_DATABASE_URL: _external, ...env } = process.env;
      const cp = await runControlPlane({
        role: 'all',
        port,
        host: '127.0.0.1',
        logger,
        env: {
          ...env,
          TELEMY_JWT_SECRET: vault.getOrCreate(JWT_SECRET_KEY).value,
          TELEMY_RELAY_PROVIDER: 'local',
          TELEMY_PUBLIC_URL: url,
        },
        overrides: { timers },
        jobPeriodsMs,
      });
      writeEmbeddedAddress(cp.url, port);
      const userId = vault.get(USER_ID_KEY);
      if (!userId || !(await getUser(cp.db, userId)) || !vault.get(apiKeyName)) {
        const now = new Date();
        const user =
          userId && (await getUser(cp.db, userId))
            ? { id: userId }
            : await createUser(cp.db, { email: 'local@telemy.invalid', plan: 'starter' }, now);
        const { apiKey } = await createApiKey(cp.db, user.id, now, 'embedded');
        vault.set(USER_ID_KEY, user.id);
        vault.set(apiKeyName, apiKey);
        logger.info({ user_id: user.id }, 'embedded control plane: local user and API key created');
      }
      return { url: cp.url, close: () => cp.close() };
    },
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
