import { createInterface, type Interface } from 'node:readline';
import {
  createUser,
  getUserByEmail,
  type JobName,
  jwtConfigFromEnv,
  type LifecycleTimers,
  type RunningControlPlane,
  registerApiKey,
  runControlPlane,
} from '@telemy/control-plane';
import { createLogger, EmbeddedInit } from '@telemy/protocol';

/**
 * Session timers and the watchdog period of the embedded control plane, from the environment
 * (end-to-end tests and trials shorten them; the defaults are the control plane's own):
 * `TELEMY_CP_GRACE_WINDOW_S` (600), `TELEMY_CP_HEALTH_SILENCE_GRACE_S` (30),
 * `TELEMY_CP_HEALTH_LOST_S` (180), `TELEMY_CP_PROVISIONING_TIMEOUT_S` (300),
 * `TELEMY_CP_WATCHDOG_INTERVAL_MS` (30000). The child inherits them from the engine's environment.
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

/** The one user of an embedded control plane. */
const LOCAL_EMAIL = 'local@telemy.invalid';
/** The engine writes the init line right after spawning; waiting longer means it is not there. */
const INIT_TIMEOUT_MS = 10_000;
/** A close that hangs must not keep the engine's port and PGlite folder. */
const CLOSE_DEADLINE_MS = 2_000;

function firstLine(lines: Interface, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no init line on stdin')), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    lines.once('close', () => {
      clearTimeout(timer);
      reject(new Error('stdin closed before the init line'));
    });
  });
}

function parseInit(line: string): EmbeddedInit {
  let json: unknown = null;
  try {
    json = JSON.parse(line);
  } catch {
    // Refused below, like any other invalid line.
  }
  const parsed = EmbeddedInit.safeParse(json);
  // The line carries secrets: no detail of it goes into the error.
  if (!parsed.success) throw new Error('the init line on stdin is not valid');
  return parsed.data;
}

/**
 * `telemy control-plane --embedded`: the engine's embedded control plane, a child process of the
 * engine (`embedded-cloud.ts` starts and supervises it). Reads the init line (secrets, log level)
 * from stdin, serves role `all` on PGlite in the data folder with the `local` relay provider, makes
 * sure the local user exists and holds the engine's API key, then prints its `ready` report. Logs go
 * to stderr, which the engine points at `<data>/cloud/control-plane.log`. It stops on SIGTERM or
 * SIGINT, and when stdin ends: the pipe closes when the engine dies, however it dies.
 */
export async function runEmbeddedControlPlane(o: { host: string; port: number }): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  const stdinEnded = new Promise<string>((resolve) => lines.once('close', () => resolve('stdin ended')));
  let cp: RunningControlPlane | null = null;
  let log = createLogger('control-plane', { destination: process.stderr });
  try {
    const init = parseInit(await firstLine(lines, INIT_TIMEOUT_MS));
    log = createLogger('control-plane', { level: init.log_level, destination: process.stderr });
    const url = `http://${o.host}:${o.port}`;
    // Embedded means PGlite in the data folder, whatever the engine's environment says.
    const { TELEMY_DATABASE_URL: _external, ...env } = process.env;
    const { timers, jobPeriodsMs } = embeddedTimersFromEnv(env);
    cp = await runControlPlane({
      role: 'all',
      port: o.port,
      host: o.host,
      logger: log,
      env: { ...env, TELEMY_RELAY_PROVIDER: 'local', TELEMY_PUBLIC_URL: url },
      // The key goes to the API directly, not through `env`: the relays inherit that.
      overrides: { timers, jwt: await jwtConfigFromEnv({ ...env, TELEMY_JWT_SECRET: init.jwt_secret }) },
      jobPeriodsMs,
    });
    const now = new Date();
    const user =
      (await getUserByEmail(cp.db, LOCAL_EMAIL)) ??
      (await createUser(cp.db, { email: LOCAL_EMAIL, plan: 'starter' }, now));
    await registerApiKey(cp.db, user.id, init.api_key, now, 'embedded');
    log.info({ url: cp.url, user_id: user.id }, 'embedded control plane ready');
    process.stdout.write(`${JSON.stringify({ ready: cp.url })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ failed: (err as Error).message })}\n`);
    await cp?.close().catch(() => undefined);
    throw err;
  }
  // Until ready a signal ends the process at once (Node's default): a cut-short start has nothing to close.
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const why = await Promise.race([stdinEnded, signalled]);
  log.info({ why }, 'embedded control plane stopping');
  setTimeout(() => process.exit(1), CLOSE_DEADLINE_MS).unref();
  await cp.close();
  lines.close();
  process.stdin.destroy();
}
