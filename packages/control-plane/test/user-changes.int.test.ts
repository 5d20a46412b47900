import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, LISTEN_APPLICATION_NAME } from '../src/db/pg.js';
import { createPgliteDb } from '../src/db/pglite.js';
import type { Db, Subscription } from '../src/db/types.js';
import { ALL_USERS, USER_CHANGED_CHANNEL } from '../src/db/user-changes.js';
import { hitRateLimit } from '../src/store/rate-limits.js';
import { createApiKey, createUser } from '../src/store/users.js';
import { BACKENDS, type Backend, openBackend, T0 } from './harness.js';

/** Polls `cond` until it holds; fails after `ms` (generous: nothing here measures time). */
async function waitFor(cond: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A subscription to USER_CHANGED_CHANNEL that records what it receives. */
interface Listener {
  payloads: string[];
  lost: Error[];
  sub: Subscription;
}

async function listen(db: Db): Promise<Listener> {
  const payloads: string[] = [];
  const lost: Error[] = [];
  const sub = await db.listen(
    USER_CHANGED_CHANNEL,
    (p) => payloads.push(p),
    (err) => lost.push(err),
  );
  return { payloads, lost, sub };
}

let markers = 0;

/**
 * The user-change payloads `l` received up to now, each once, sorted; then forgets them. PostgreSQL
 * delivers notifications in commit order, so once a marker NOTIFY committed after the writes has
 * arrived, everything the writes sent has arrived too: an empty answer means they sent nothing.
 */
async function received(db: Db, l: Listener): Promise<string[]> {
  const marker = `marker-${++markers}`;
  await db.query('SELECT pg_notify($1, $2)', [USER_CHANGED_CHANNEL, marker]);
  await waitFor(() => l.payloads.includes(marker), `the notification ${marker}`);
  // Other listeners' markers reach every listener: they are not user changes.
  const before = l.payloads.splice(0).filter((p) => !p.startsWith('marker-'));
  return [...new Set(before)].sort();
}

const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe.each(BACKENDS)('user-change notifications on %s', (kind) => {
  let backend: Backend;
  let db: Db;
  beforeAll(async () => {
    backend = await openBackend(kind);
    db = backend.db;
  });
  afterAll(async () => {
    await backend?.close();
  });

  it("writes to the tables of a user's cached reads notify that user's id; other tables nothing", async () => {
    const l = await listen(db);
    try {
      const user = await createUser(db, { email: `a-${kind}@example.test` }, at(0));
      expect(await received(db, l)).toEqual([user.id]);
      const other = await createUser(db, { email: `b-${kind}@example.test` }, at(0));
      expect(await received(db, l)).toEqual([other.id]);

      // As relay-service does: the instance first (its session does not exist yet), then the session.
      const sessionId = 'ses_notify1';
      const instanceId = 'rly_notify1';
      await db.query(
        `INSERT INTO relay_instances (id, session_id, provider, region, credential_hash, state, created_at)
         VALUES ($1, $2, 'fake', 'us-east-1', 'hash-notify1', 'provisioning', $3)`,
        [instanceId, sessionId, at(1)],
      );
      expect(await received(db, l)).toEqual([]);
      await db.query(
        `INSERT INTO sessions (id, user_id, relay_instance_id, status, region, idempotency_key, requested_by,
           started_at, pair_token, relay_ws_token, egress_passphrase)
         VALUES ($1, $2, $3, 'provisioning', 'us-east-1', $4, 'dashboard', $5, 'p', 'w', 'e')`,
        [sessionId, user.id, instanceId, crypto.randomUUID(), at(1)],
      );
      expect(await received(db, l)).toEqual([user.id]);

      await db.query(
        `UPDATE sessions SET status = 'active', activated_at = $2, updated_at = $2 WHERE id = $1`,
        [sessionId, at(2)],
      );
      expect(await received(db, l)).toEqual([user.id]);

      await db.query(
        `UPDATE relay_instances SET state = 'running', public_ip = '203.0.113.7', srt_port = 9000, last_health_at = $2
         WHERE id = $1`,
        [instanceId, at(3)],
      );
      expect(await received(db, l)).toEqual([user.id]);

      await db.query(
        `INSERT INTO relay_health_events (session_id, relay_instance_id, observed_at, received_at, ingest_active,
           egress_active, session_uptime_seconds, payload_json)
         VALUES ($1, $2, $3, $3, true, true, 10, '{}')`,
        [sessionId, instanceId, at(3)],
      );
      expect(await received(db, l)).toEqual([user.id]);

      // Writes the cached reads do not see: the hot path's rate-limit counter, API keys, usage records.
      await hitRateLimit(db, `active:${user.id}`, 60, T0);
      await createApiKey(db, user.id, at(4));
      await db.query(
        `INSERT INTO usage_records (id, user_id, session_id, cycle_start_at, cycle_end_at, updated_at)
         VALUES ('use_notify1', $1, $2, $3, $4, $3)`,
        [user.id, sessionId, at(0), at(86_400)],
      );
      expect(await received(db, l)).toEqual([]);

      // A rolled-back write notifies nothing.
      await expect(
        db.transaction(async (tx) => {
          await tx.query('UPDATE users SET display_name = $2 WHERE id = $1', [user.id, 'rolled back']);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await received(db, l)).toEqual([]);

      // A session moved to another user: both users' reads changed.
      await db.query('UPDATE sessions SET user_id = $2 WHERE id = $1', [sessionId, other.id]);
      expect(await received(db, l)).toEqual([user.id, other.id].sort());

      // The health event of a session belongs to the session's (new) user.
      await db.query('UPDATE relay_health_events SET ingest_active = false WHERE session_id = $1', [
        sessionId,
      ]);
      expect(await received(db, l)).toEqual([other.id]);

      await db.query('UPDATE users SET plan_status = $2 WHERE id = $1', [user.id, 'past_due']);
      expect(await received(db, l)).toEqual([user.id]);

      // Deleting a user (its session, health events and usage go with it by cascade).
      await db.query('DELETE FROM users WHERE id = $1', [other.id]);
      expect(await received(db, l)).toEqual([other.id]);
      expect(l.lost).toEqual([]);
    } finally {
      await l.sub.close();
    }
  });

  it('TRUNCATE notifies every user', async () => {
    const l = await listen(db);
    try {
      await db.exec('TRUNCATE sessions CASCADE');
      expect(await received(db, l)).toEqual([ALL_USERS]);
      await db.exec('TRUNCATE relay_instances CASCADE');
      expect(await received(db, l)).toEqual([ALL_USERS]);
    } finally {
      await l.sub.close();
    }
  });

  it('close() stops delivery', async () => {
    const closed = await listen(db);
    const open = await listen(db);
    try {
      const user = await createUser(db, { email: `c-${kind}@example.test` }, at(0));
      expect(await received(db, closed)).toEqual([user.id]);
      expect(await received(db, open)).toEqual([user.id]);
      await closed.sub.close();
      await closed.sub.close();
      closed.payloads.length = 0; // the marker above may have reached it too
      await db.query('UPDATE users SET display_name = $2 WHERE id = $1', [user.id, 'after close']);
      // `open` receiving the marker sent after the update shows the update was delivered to listeners.
      expect(await received(db, open)).toEqual([user.id]);
      expect(closed.payloads).toEqual([]);
      expect(closed.lost).toEqual([]);
      expect(open.lost).toEqual([]);
    } finally {
      await closed.sub.close();
      await open.sub.close();
    }
  });

  it('db.close() ends open subscriptions without reporting them lost', async () => {
    const other = kind === 'postgres' ? createPgDb(backend.url!) : await createPgliteDb();
    const l = await listen(other);
    await other.close();
    expect(l.lost).toEqual([]);
    if (kind === 'postgres') {
      await waitFor(async () => (await listenerCount(db)) === 0, 'the listening backend to go');
    }
  });

  if (kind === 'postgres') {
    it('a listening connection that dies calls onLost once; a new listen works', async () => {
      // Backends of closed subscriptions may take a moment to leave pg_stat_activity.
      await waitFor(async () => (await listenerCount(db)) === 0, 'earlier listening backends to go');
      const l = await listen(db);
      expect(await listenerCount(db)).toBe(1);
      const killed = await db.query<{ ok: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [LISTEN_APPLICATION_NAME],
      );
      expect(killed.rows).toEqual([{ ok: true }]);
      await waitFor(() => l.lost.length > 0, 'onLost');

      const again = await listen(db);
      try {
        const user = await createUser(db, { email: `d-${kind}@example.test` }, at(0));
        expect(await received(db, again)).toEqual([user.id]);
        expect(l.payloads).toEqual([]);
        expect(l.lost).toHaveLength(1);
        await l.sub.close();
        expect(l.lost).toHaveLength(1);
        expect(again.lost).toEqual([]);
      } finally {
        await again.sub.close();
      }
    });

    it('listen rejects when it cannot connect', async () => {
      const unreachable = createPgDb('postgres://postgres@127.0.0.1:1/telemy_test');
      try {
        await expect(listen(unreachable)).rejects.toThrow();
      } finally {
        await unreachable.close();
      }
    });
  }
});

async function listenerCount(db: Db): Promise<number> {
  const res = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
    [LISTEN_APPLICATION_NAME],
  );
  return res.rows[0]!.n;
}
