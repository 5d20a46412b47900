import { z } from 'zod';

/**
 * Values a request can carry into PostgreSQL (and PGlite), checked by the request schemas so that
 * what the database would refuse is a 400 naming the field, never a database error (a 500).
 *
 * - Text: PostgreSQL stores no NUL character (`text` columns refuse byte 0x00, `jsonb` the escape
 *   `\u0000`), and an unpaired UTF-16 surrogate has no UTF-8 form (`jsonb` refuses `\ud800`; a
 *   `text` column would silently store U+FFFD instead, so the value would not be what was sent).
 * - Integers: an `integer` (int4) column holds -2^31 … 2^31-1; a larger JS number is an error
 *   ("out of range for type integer").
 * - Times: year 0000 of ISO 8601 is no year of PostgreSQL's calendar (1 BC precedes AD 1): PGlite
 *   refuses it, node-postgres sends it as 1 BC; and PGlite reads years 0001-0099 back wrong
 *   (0001 as 2001). No time Telemy stores is before 1970, so that is where the range starts.
 */

/** A lead surrogate not followed by a trail one, or a trail surrogate not preceded by a lead one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const NUL_MESSAGE = 'must not contain a NUL character (U+0000)';
export const LONE_SURROGATE_MESSAGE = 'must not contain an unpaired UTF-16 surrogate';

/** Whether PostgreSQL can store `s` as text (or in a JSON document) exactly as it is. */
export function isPgStorableText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}

/**
 * A string PostgreSQL can store exactly: no NUL, no unpaired surrogate. The base of every request
 * string that reaches the database; chain length limits on it (`PgText.min(1).max(100)`).
 */
export const PgText = z
  .string()
  .refine((s) => !s.includes('\u0000'), NUL_MESSAGE)
  .refine((s) => !LONE_SURROGATE.test(s), LONE_SURROGATE_MESSAGE);

export const PG_INT4_MIN = -2_147_483_648;
export const PG_INT4_MAX = 2_147_483_647;

/** An integer that fits a PostgreSQL `integer` (int4) column. */
export const PgInt4 = z
  .number()
  .int('must be an integer')
  .min(PG_INT4_MIN, `must be at least ${PG_INT4_MIN} (a PostgreSQL integer)`)
  .max(PG_INT4_MAX, `must be at most ${PG_INT4_MAX} (a PostgreSQL integer)`);

export const PG_TIMESTAMP_MIN = '1970-01-01T00:00:00Z';

/** An ISO 8601 UTC time (`Z`) that a `timestamptz` column stores and reads back as sent. */
export const PgTimestamp = z.iso
  .datetime()
  .refine((s) => Date.parse(s) >= 0, `must be ${PG_TIMESTAMP_MIN} or later`);
