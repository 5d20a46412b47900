-- Who is launching a session's relay right now, and what happened to a session along the way.
--
-- A launch runs in the background of the process that answered the start (or resumed it). That
-- process holds a lease on it here and renews it while `provision()` runs; the row goes when the
-- launch is recorded or has failed. A lease that expired belongs to no live process (it crashed or
-- was cut off): the `provisioning_recovery` job takes it over (`attempt` + 1) and adopts the relay
-- the dead owner launched, or launches one itself. The holder and attempt the launch started with
-- must still be here when it ends, or the launch lost its lease and its relay is not the session's.
-- Not read by the hot path, and renewed every few seconds: no user-change trigger on it.
CREATE TABLE provisioning_leases (
  relay_instance_id text PRIMARY KEY REFERENCES relay_instances (id) ON DELETE CASCADE,
  session_id text NOT NULL,
  holder text NOT NULL,
  attempt integer NOT NULL CHECK (attempt >= 1),
  expires_at timestamptz NOT NULL
);
CREATE INDEX provisioning_leases_expiry_idx ON provisioning_leases (expires_at);

-- Why the control plane did what it did to a session beyond the status columns: a relay adopted
-- from its health report or from the provider, a provisioning resumed or abandoned after its owner
-- died, a duplicate relay terminated, a provisioning timeout.
CREATE TABLE session_events (
  id bigserial PRIMARY KEY,
  session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX session_events_session_idx ON session_events (session_id, at);
