-- Every API replica caches, per user, the hot path's reads (the user row; the live session joined
-- with its relay instance and latest health report; the session usage) and drops a user's entry
-- when `telemy_user_changed` carries that user's id (see `src/cache/`). The database sends it, so
-- writes by other replicas, jobs and the admin CLI are seen, whatever code made them. Payload: the
-- user id, or `*` (every user) after a TRUNCATE. Channel and `*` are USER_CHANGED_CHANNEL and
-- ALL_USERS in `src/db/user-changes.ts`.
--
-- The tables those reads read: users, sessions, relay_instances, relay_health_events. Not
-- usage_records, api_keys, idempotency_records (not read) nor rate_limit_counters (written by every
-- request and never cached: notifying on it would empty the caches all the time).
--
-- NOTIFY is delivered at commit, never for a rolled-back transaction, and PostgreSQL folds equal
-- payloads of one transaction into one notification.

CREATE FUNCTION telemy_notify_user_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  -- The row's key before and after the change: a user id (users, sessions) or a session id.
  old_key text;
  new_key text;
  uid text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('telemy_user_changed', '*');
    RETURN NULL;
  END IF;
  -- OLD and NEW are read only in the branch of their table (a field a table lacks is an error).
  IF TG_TABLE_NAME = 'users' THEN
    IF TG_OP <> 'INSERT' THEN old_key := OLD.id; END IF;
    IF TG_OP <> 'DELETE' THEN new_key := NEW.id; END IF;
  ELSIF TG_TABLE_NAME = 'sessions' THEN
    IF TG_OP <> 'INSERT' THEN old_key := OLD.user_id; END IF;
    IF TG_OP <> 'DELETE' THEN new_key := NEW.user_id; END IF;
  ELSE
    -- relay_instances, relay_health_events: the user of the row's session (or sessions, if an
    -- update moved the row). No session, e.g. a relay instance inserted before its session in
    -- the same transaction: nothing to notify; the session's own insert notifies its user.
    IF TG_OP <> 'INSERT' THEN old_key := OLD.session_id; END IF;
    IF TG_OP <> 'DELETE' THEN new_key := NEW.session_id; END IF;
    FOR uid IN SELECT DISTINCT s.user_id FROM sessions s WHERE s.id IN (old_key, new_key) LOOP
      PERFORM pg_notify('telemy_user_changed', uid);
    END LOOP;
    RETURN NULL;
  END IF;
  IF old_key IS NOT NULL THEN
    PERFORM pg_notify('telemy_user_changed', old_key);
  END IF;
  IF new_key IS NOT NULL AND new_key IS DISTINCT FROM old_key THEN
    PERFORM pg_notify('telemy_user_changed', new_key);
  END IF;
  RETURN NULL;
END
$$;

-- On each of those tables: every row change, and a TRUNCATE (`*`).
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'sessions', 'relay_instances', 'relay_health_events'] LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I
                    FOR EACH ROW EXECUTE FUNCTION telemy_notify_user_changed()', t || '_notify_user_changed', t);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                    FOR EACH STATEMENT EXECUTE FUNCTION telemy_notify_user_changed()',
                   t || '_notify_user_changed_truncate', t);
  END LOOP;
END
$$;
