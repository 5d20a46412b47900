import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ControlPlaneApp, ControlPlaneOptions, Db } from '@telemy/control-plane';
import { createLogger, type Logger } from '@telemy/protocol';
import type { RelayLink } from '../../../src/cloudlink/api-schemas.js';
import { CloudLink, type CloudLinkOptions } from '../../../src/cloudlink/cloudlink.js';
import { ControlPlaneClient } from '../../../src/cloudlink/control-plane-client.js';
import type { RelaySignal } from '../../../src/cloudlink/relay-signals.js';

/** What the CloudLink tests share: fixtures, a logger that keeps its lines, a control plane to run against. */

export const silent = createLogger('test', { level: 'silent' });

/** A logger at `level` whose JSON lines the test can read. */
export function captureLogger(level = 'debug', name = 'test'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger(name, {
    level,
    destination: new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  });
  return { logger, lines };
}

/** A fresh `TELEMY_HOME` for this test file (the relays' registry and the vault live there). */
export function tempHome(prefix: string): string {
  const home = mkdtempSync(join(tmpdir(), `telemy-${prefix}-`));
  process.env.TELEMY_HOME = home;
  return home;
}

/** The secrets `sessionBody()` carries: tests check that they never leak. */
export const PAIR_TOKEN = 'PAIRTOKENPAIRTOKEN23';
export const WS_TOKEN = 'WSTOKENWSTOKENWSTOKEN';

/**
 * A control-plane session body before parsing: provisioning, no relay yet. Tests override what
 * they look at (`status`, `relay`, `ingest`, …).
 */
export function sessionBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    session_id: 'ses_1',
    user_id: 'usr_1',
    status: 'provisioning',
    region: 'local',
    relay: { instance_id: null, public_ip: null, srt_port: null, egress_port: null, ws_url: null },
    credentials: { pair_token: PAIR_TOKEN, relay_ws_token: WS_TOKEN },
    ingest: { srt_url: null, obs_source_url: null },
    timers: {
      grace_window_seconds: 600,
      max_session_seconds: 57600,
      grace_remaining_seconds: null,
      max_session_remaining_seconds: 57600,
    },
    usage: { started_at: '2026-11-22T03:00:00.000Z', ended_at: null, duration_seconds: 0 },
    links: [],
    bonded: null,
    ...over,
  };
}

/** One relay ingest link (`l1`, the phone) at `bitrate_kbps`, as telemetry and the control plane report it. */
export const linkRow = (bitrate_kbps: number): RelayLink => ({
  link_id: 'l1',
  label: 'phone',
  source_ip: null,
  protocol: 'srt',
  status: 'active',
  bitrate_kbps,
  rtt_ms: 30,
  packet_loss_pct: 0,
  jitter_ms: 2,
  connected_at: null,
});

export interface TestControlPlane {
  db: Db;
  app: ControlPlaneApp;
  baseUrl: string;
  /** A standard-plan user's API key. */
  apiKey: string;
  close(): Promise<void>;
}

/**
 * The real control plane in process, on in-memory PGlite, with one standard-plan user. `port`:
 * a fixed port, also given to relays as the address to report to; 0 (default) picks one.
 */
export async function startControlPlane(opts: {
  provider: ControlPlaneOptions['provider'];
  manifest: Parameters<typeof import('@telemy/control-plane').seedManifest>[1];
  port?: number;
}): Promise<TestControlPlane> {
  // Loaded here so that the unit tests importing this module do not load the control plane.
  const cp = await import('@telemy/control-plane');
  const db = await cp.createPgliteDb();
  await cp.migrate(db);
  await cp.seedManifest(db, opts.manifest, new Date());
  const user = await cp.createUser(db, { email: 'irl@example.test', plan: 'standard' }, new Date());
  const apiKey = (await cp.createApiKey(db, user.id, new Date())).apiKey;
  const port = opts.port ?? 0;
  const app = await cp.createControlPlane({
    db,
    provider: opts.provider,
    jwt: cp.hs256Config('x'.repeat(48)),
    ...(port ? { publicUrl: `http://127.0.0.1:${port}` } : {}),
    logger: silent,
  });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    db,
    app,
    apiKey,
    baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: async () => {
      await app.close();
      await db.close();
    },
  };
}

/** A CloudLink on `cp` that records its signals; polls quickly so a session moves in test time. */
export function linkTo(
  cp: Pick<TestControlPlane, 'baseUrl' | 'apiKey'>,
  over: Partial<Omit<CloudLinkOptions, 'api' | 'sink'>> = {},
) {
  const signals: RelaySignal[] = [];
  const link = new CloudLink({
    api: new ControlPlaneClient({ baseUrl: cp.baseUrl, getSecret: () => cp.apiKey, logger: silent }),
    sink: { relaySignal: (s) => signals.push(s) },
    provisioningPollMs: 100,
    sessionPollMs: 1_000,
    logger: silent,
    ...over,
  });
  const kinds = () => signals.map((s) => s.kind);
  return { link, signals, kinds, seen: (kind: RelaySignal['kind']) => kinds().includes(kind) };
}
