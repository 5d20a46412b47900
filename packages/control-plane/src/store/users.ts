import type { PlanStatus, PlanTier } from '@telemy/protocol';
import type { Queryable } from '../db/types.js';
import { newApiKey, newId, sha256Hex } from '../ids.js';
import { addMonthsUtc, PLANS } from '../plans.js';
import type { Field } from './array-rows.js';

export interface UserRow {
  id: string;
  email: string;
  display_name: string | null;
  plan_tier: PlanTier;
  plan_status: PlanStatus;
  cycle_start_at: Date;
  cycle_end_at: Date;
  included_seconds: number;
  created_at: Date;
}

export interface NewUser {
  email: string;
  displayName?: string | null;
  plan?: PlanTier;
  planStatus?: PlanStatus;
}

/** UserRow's fields over `users` (see `array-rows.ts`). */
export const USER_FIELDS: ReadonlyArray<Field<UserRow>> = [
  ['id', 'id', 'value'],
  ['email', 'email', 'value'],
  ['display_name', 'display_name', 'value'],
  ['plan_tier', 'plan_tier', 'value'],
  ['plan_status', 'plan_status', 'value'],
  ['cycle_start_at', 'cycle_start_at', 'time'],
  ['cycle_end_at', 'cycle_end_at', 'time'],
  ['included_seconds', 'included_seconds', 'value'],
  ['created_at', 'created_at', 'time'],
];

export const USER_COLUMNS = USER_FIELDS.map(([name]) => name).join(', ');

/** A user whose first monthly cycle starts now, with the tier's Time Bank. */
export async function createUser(db: Queryable, u: NewUser, now: Date): Promise<UserRow> {
  const plan = PLANS[u.plan ?? 'starter'];
  const res = await db.query<UserRow>(
    `INSERT INTO users (id, email, display_name, plan_tier, plan_status, cycle_start_at, cycle_end_at,
       included_seconds, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6, $6) RETURNING ${USER_COLUMNS}`,
    [
      newId('usr'),
      u.email.trim().toLowerCase(),
      u.displayName ?? null,
      plan.tier,
      u.planStatus ?? 'active',
      now,
      addMonthsUtc(now, 1),
      plan.includedSeconds,
    ],
  );
  return res.rows[0]!;
}

export async function getUser(db: Queryable, id: string): Promise<UserRow | null> {
  const res = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return res.rows[0] ?? null;
}

export async function getUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const res = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE email = $1`, [
    email.trim().toLowerCase(),
  ]);
  return res.rows[0] ?? null;
}

export async function listUsers(db: Queryable): Promise<UserRow[]> {
  return (await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY created_at, id`)).rows;
}

/** Issues an API key; the caller shows `apiKey` once, only its hash is stored. */
export async function createApiKey(
  db: Queryable,
  userId: string,
  now: Date,
  label: string | null = null,
): Promise<{ keyId: string; apiKey: string }> {
  const apiKey = newApiKey();
  return { keyId: await registerApiKey(db, userId, apiKey, now, label), apiKey };
}

/**
 * Stores the hash of a key its holder made (the embedded engine keeps its key in its own vault) and
 * returns the key's id. Registering a key the user already has is a no-op, so it runs on every start;
 * a key of another user, or a revoked one, is refused.
 */
export async function registerApiKey(
  db: Queryable,
  userId: string,
  apiKey: string,
  now: Date,
  label: string | null = null,
): Promise<string> {
  // On conflict the no-op update makes RETURNING give the existing row, in the same round trip.
  const res = await db.query<{ id: string; user_id: string; revoked_at: Date | null }>(
    `INSERT INTO api_keys (id, user_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (key_hash) DO UPDATE SET key_hash = EXCLUDED.key_hash RETURNING id, user_id, revoked_at`,
    [newId('key'), userId, sha256Hex(apiKey), label, now],
  );
  const row = res.rows[0]!;
  if (row.user_id !== userId || row.revoked_at !== null)
    throw new Error('this API key belongs to another user or was revoked');
  return row.id;
}

/** The owner of an unrevoked key, marking the key used; null for unknown or revoked keys. */
export async function useApiKey(db: Queryable, apiKey: string, now: Date): Promise<string | null> {
  const res = await db.query<{ user_id: string }>(
    `UPDATE api_keys SET last_used_at = $2 WHERE key_hash = $1 AND revoked_at IS NULL RETURNING user_id`,
    [sha256Hex(apiKey), now],
  );
  return res.rows[0]?.user_id ?? null;
}
