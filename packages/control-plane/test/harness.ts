import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PlanStatus, PlanTier } from '@telemy/protocol';
import { createLogger, type Logger, type RelayHealthReport, type RelaySession } from '@telemy/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { startPostgres } from '../../../test/support/postgres.js';
import { hs256Config, type JwtConfig, signAccessToken } from '../src/auth/jwt.js';
import type { HttpLimits, LifecycleTimers, RateLimits } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { openDatabase } from '../src/db/open.js';
import type { Db } from '../src/db/types.js';
import { type ControlPlaneApp, type ControlPlaneOptions, createControlPlane } from '../src/http/app.js';
import { FakeRelayProvider } from '../src/providers/fake.js';
import { seedManifest } from '../src/server.js';
import { createApiKey, createUser, type UserRow } from '../src/store/users.js';

export type BackendName = 'pglite' | 'postgres';
/** A healthy relay's health report: one SRT link from a phone, ingest and egress up. */
export function healthReportBody(sessionId: string, instanceId: string, now: number) {
  return {
    session_id: sessionId,
    instance_id: instanceId,
    ingest_active: true,
    egress_active: true,
    session_uptime_seconds: 10,
    observed_at: new Date(now).toISOString(),
    links: [
      {
        link_id: 'l1',
        label: 'phone',
        source_ip: '203.0.113.45',
        protocol: 'srt',
        status: 'active',
        bitrate_kbps: 4000,
        rtt_ms: 40,
        packet_loss_pct: 0.1,
        jitter_ms: 3,
        connected_at: new Date(now).toISOString(),
      },
    ],
    bonded: { total_bitrate_kbps: 4000, active_link_count: 1, health: 'healthy' },
  };
}

/** A relay's first report, before any caller: ingest up, nothing out, no links. */
export function firstHealthReportBody(sessionId: string, instanceId: string, now: number) {
  return {
    session_id: sessionId,
    instance_id: instanceId,
    ingest_active: true,
    egress_active: false,
    session_uptime_seconds: 1,
    observed_at: new Date(now).toISOString(),
    links: [],
    bonded: { total_bitrate_kbps: 0, active_link_count: 0, health: 'critical' },
  };
}

/** Every store test runs on both: the embedded default and a real PostgreSQL 15 server. */
export const BACKENDS: BackendName[] = ['pglite', 'postgres'];

export const JWT_SECRET = 'test-secret-0123456789abcdef0123456789';
export const CLIENT_HEADERS = { 'x-aegis-client-version': '0.0.3', 'x-aegis-client-platform': 'linux' };
export const START_BODY = {
  region_preference: 'auto',
  client_context: { obs_connected: true, mode: 'irl', requested_by: 'dashboard' },
};

export interface Backend {
  db: Db;
  url: string | null;
  home: string;
  close(): Promise<void>;
}

/** A migrated store of the given kind (PGlite in a fresh TELEMY_HOME, or a throwaway server). */
export async function openBackend(kind: BackendName): Promise<Backend> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'telemy-cp-'));
  if (kind === 'pglite') {
    const db = await openDatabase({ TELEMY_HOME: home });
    await migrate(db);
    return {
      db,
      url: null,
      home,
      async close() {
        await db.close();
        fs.rmSync(home, { recursive: true, force: true });
      },
    };
  }
  const pg = await startPostgres();
  const db = await openDatabase({ TELEMY_HOME: home, TELEMY_DATABASE_URL: pg.url });
  await migrate(db);
  return {
    db,
    url: pg.url,
    home,
    async close() {
      await db.close();
      await pg.stop();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

export const T0 = Date.parse('2026-03-10T12:00:00.000Z');

export interface Harness {
  app: ControlPlaneApp;
  db: Db;
  provider: FakeRelayProvider;
  jwt: JwtConfig;
  now(): number;
  advance(seconds: number): void;
  newUser(opts?: {
    plan?: PlanTier;
    status?: PlanStatus;
  }): Promise<{ user: UserRow; token: string; apiKey: string }>;
  headers(token: string, extra?: Record<string, string>): Record<string, string>;
  start(token: string, body?: unknown, key?: string): Promise<{ status: number; body: RelaySession }>;
  /** Waits for the background provisioning started by the requests so far. */
  settle(): Promise<void>;
  health(sessionId: string, over?: Partial<RelayHealthReport>): Promise<number>;
  /** `POST /relay/stop` as the session's owner. */
  stop(token: string, sessionId: string, reason?: string): Promise<LightMyRequestResponse>;
  /**
   * Another control plane on the same store, provider, keys and clock, with the default rate
   * limits (a second replica, or the API under other options); the caller closes it.
   */
  replica(opts?: Partial<ControlPlaneOptions>): Promise<ControlPlaneApp>;
  close(): Promise<void>;
}

export async function makeHarness(
  db: Db,
  opts: {
    limits?: Partial<RateLimits>;
    timers?: Partial<LifecycleTimers>;
    http?: Partial<HttpLimits>;
    /** Default: silent. */
    logger?: Logger;
  } = {},
): Promise<Harness> {
  let now = T0;
  const provider = new FakeRelayProvider();
  const jwt = hs256Config(JWT_SECRET);
  await seedManifest(
    db,
    [
      { region: 'eu-west-1', image_id: 'ami-eu', default_instance_type: 't4g.small' },
      { region: 'us-east-1', image_id: 'ami-us', default_instance_type: 't4g.small' },
    ],
    new Date(T0),
  );
  const app = await createControlPlane({
    db,
    provider,
    jwt,
    clock: () => now,
    defaultRegion: 'us-east-1',
    limits: { start: 1000, stop: 1000, active: 1000, usage: 1000, authToken: 1000, ...opts.limits },
    timers: opts.timers,
    http: opts.http,
    logger: opts.logger ?? createLogger('cp-test', { level: 'silent' }),
    publicUrl: 'http://127.0.0.1:1',
  });
  const h: Harness = {
    app,
    db,
    provider,
    jwt,
    now: () => now,
    advance(seconds) {
      now += seconds * 1000;
    },
    async newUser(o = {}) {
      const user = await createUser(
        db,
        {
          email: `u-${Math.random().toString(36).slice(2)}@example.test`,
          plan: o.plan,
          planStatus: o.status,
        },
        new Date(now),
      );
      const { apiKey } = await createApiKey(db, user.id, new Date(now));
      const { token } = await signAccessToken(jwt, user.id, now, 30 * 86_400);
      return { user, token, apiKey };
    },
    headers(token, extra = {}) {
      return { authorization: `Bearer ${token}`, ...CLIENT_HEADERS, ...extra };
    },
    async start(token, body = START_BODY, key = crypto.randomUUID()) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/relay/start',
        headers: h.headers(token, { 'idempotency-key': key }),
        payload: body as object,
      });
      return { status: res.statusCode, body: res.json() };
    },
    async settle() {
      await app.cp.ctx.tasks.drain();
    },
    async health(sessionId, over = {}) {
      const agent = provider.agentFor(sessionId);
      if (!agent) throw new Error(`no relay was provisioned for ${sessionId}`);
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/relay/health',
        headers: { authorization: `Relay ${agent.relay_credential}` },
        payload: {
          ...healthReportBody(sessionId, provider.instanceFor(sessionId) ?? 'unknown', now),
          ...over,
        },
      });
      return res.statusCode;
    },
    stop(token, sessionId, reason = 'user_requested') {
      return app.inject({
        method: 'POST',
        url: '/api/v1/relay/stop',
        headers: h.headers(token),
        payload: { session_id: sessionId, reason },
      });
    },
    replica(o = {}) {
      return createControlPlane({
        db,
        provider,
        jwt,
        clock: () => now,
        logger: createLogger('cp-test', { level: 'silent' }),
        ...o,
      });
    },
    async close() {
      await app.close();
    },
  };
  return h;
}

/** Starts a session and brings it to `active` with a first health report. */
export async function activeSession(h: Harness, token: string): Promise<string> {
  const res = await h.start(token);
  if (res.status !== 201) throw new Error(`start answered ${res.status}: ${JSON.stringify(res.body)}`);
  await h.settle();
  const code = await h.health(res.body.session_id);
  if (code !== 204) throw new Error(`health answered ${code}`);
  return res.body.session_id;
}

/**
 * A harness on a fresh `kind` store for the enclosing describe block: opened before its tests and
 * closed after them. The returned object stands for it from then on (it is not open while the block
 * is being declared).
 */
export function harnessPerSuite(kind: BackendName): Harness {
  let backend: Backend | undefined;
  let h: Harness | undefined;
  beforeAll(async () => {
    backend = await openBackend(kind);
    h = await makeHarness(backend.db);
  });
  afterAll(async () => {
    await h?.close();
    await backend?.close();
  });
  return new Proxy({} as Harness, {
    get(_target, key) {
      if (!h) throw new Error('the harness is open only inside the tests of its block');
      const value: unknown = Reflect.get(h, key);
      return typeof value === 'function' ? value.bind(h) : value;
    },
  });
}
