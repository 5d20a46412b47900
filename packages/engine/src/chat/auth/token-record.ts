import { z } from 'zod';

/**
 * A platform's signed-in tokens as one vault entry (JSON). The client id is kept with them because
 * a refresh token works only with the app that obtained it. `revoked_at_ms` is set when the platform
 * refused the refresh token, so `telemy doctor` can say "sign in again" without asking it.
 */
export const tokenRecordSchema = z.object({
  version: z.literal(1),
  client_id: z.string().min(1),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).nullable(),
  obtained_at_ms: z.number(),
  /** Null when the platform gave no lifetime. */
  expires_at_ms: z.number().nullable(),
  scopes: z.array(z.string()),
  account: z.string().nullable(),
  revoked_at_ms: z.number().nullable(),
});
export type TokenRecord = z.infer<typeof tokenRecordSchema>;

/** A vault value: a signed-in record, or null when it is not one (a pasted token, say). */
export function parseTokenRecord(value: string | null): TokenRecord | null {
  if (!value?.startsWith('{')) return null;
  try {
    const r = tokenRecordSchema.safeParse(JSON.parse(value));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export function serializeTokenRecord(r: TokenRecord): string {
  return JSON.stringify(r);
}

/** A token endpoint's answer as a record; fields it left out (Google's refresh gives no new refresh token) come from `previous`. */
export function recordFromTokenResponse(
  body: unknown,
  clientId: string,
  now: number,
  previous: TokenRecord | null,
): TokenRecord {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if (typeof b.access_token !== 'string' || b.access_token === '')
    throw new Error('the token endpoint answered without an access_token');
  const expiresIn = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : null;
  // Twitch lists scopes as an array, Google and Kick as one space-separated string.
  const scopes = Array.isArray(b.scope)
    ? b.scope.filter((s): s is string => typeof s === 'string')
    : typeof b.scope === 'string'
      ? b.scope.split(/\s+/).filter(Boolean)
      : (previous?.scopes ?? []);
  return {
    version: 1,
    client_id: clientId,
    access_token: b.access_token,
    refresh_token:
      typeof b.refresh_token === 'string' && b.refresh_token !== ''
        ? b.refresh_token
        : (previous?.refresh_token ?? null),
    obtained_at_ms: now,
    expires_at_ms: expiresIn === null ? null : now + expiresIn * 1000,
    scopes,
    account: previous?.account ?? null,
    revoked_at_ms: null,
  };
}
