/**
 * The notification that tells every process which user's hot-path reads changed in the database
 * (sent by the triggers of migration 004_user_change_notify.sql, received with `Db.listen`). Its
 * payload is a user id, or `ALL_USERS`.
 */
export const USER_CHANGED_CHANNEL = 'telemy_user_changed';

/** The payload sent after a TRUNCATE: every user's cached reads are stale. */
export const ALL_USERS = '*';
