-- Control plane schema v1.

CREATE TABLE users (
  id text PRIMARY KEY CHECK (id LIKE 'usr\_%'),
  email text NOT NULL UNIQUE,
  display_name text,
  plan_tier text NOT NULL DEFAULT 'starter' CHECK (plan_tier IN ('starter', 'standard', 'pro')),
  plan_status text NOT NULL DEFAULT 'active' CHECK (plan_status IN ('active', 'past_due', 'canceled', 'trial')),
  cycle_start_at timestamptz NOT NULL,
  cycle_end_at timestamptz NOT NULL,
  included_seconds integer NOT NULL CHECK (included_seconds >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (cycle_end_at > cycle_start_at)
);

CREATE TABLE api_keys (
  id text PRIMARY KEY CHECK (id LIKE 'key\_%'),
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key_hash text NOT NULL UNIQUE,
  label text,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE relay_instances (
  id text PRIMARY KEY CHECK (id LIKE 'rly\_%'),
  session_id text NOT NULL UNIQUE,
  provider text NOT NULL,
  provider_instance_id text UNIQUE,
  region text NOT NULL,
  image_id text,
  instance_type text,
  public_ip inet,
  srt_port integer CHECK (srt_port BETWEEN 1 AND 65535),
  egress_port integer CHECK (egress_port BETWEEN 1 AND 65535),
  ws_port integer CHECK (ws_port BETWEEN 1 AND 65535),
  credential_hash text NOT NULL UNIQUE,
  state text NOT NULL DEFAULT 'provisioning'
    CHECK (state IN ('provisioning', 'running', 'terminating', 'terminated', 'error')),
  launched_at timestamptz,
  terminated_at timestamptz,
  last_health_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX relay_instances_state_idx ON relay_instances (state);

CREATE TABLE sessions (
  id text PRIMARY KEY CHECK (id LIKE 'ses\_%'),
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  relay_instance_id text REFERENCES relay_instances (id),
  status text NOT NULL CHECK (status IN ('provisioning', 'active', 'grace', 'stopped')),
  region text NOT NULL,
  idempotency_key uuid NOT NULL,
  requested_by text NOT NULL CHECK (requested_by IN ('dashboard', 'chatbridge', 'cli')),
  started_at timestamptz NOT NULL,
  activated_at timestamptz,
  grace_started_at timestamptz,
  stopped_at timestamptz,
  stop_reason text CHECK (stop_reason IN (
    'user_requested', 'shutdown', 'admin_forced', 'error_recovery',
    'grace_expired', 'max_session_reached', 'time_bank_exhausted')),
  max_session_seconds integer NOT NULL DEFAULT 57600 CHECK (max_session_seconds > 0),
  grace_window_seconds integer NOT NULL DEFAULT 600 CHECK (grace_window_seconds > 0),
  duration_seconds integer NOT NULL DEFAULT 0 CHECK (duration_seconds >= 0),
  reconciled_seconds integer NOT NULL DEFAULT 0 CHECK (reconciled_seconds >= 0),
  pair_token text NOT NULL,
  relay_ws_token text NOT NULL,
  egress_passphrase text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'stopped') = (stopped_at IS NOT NULL)),
  CHECK (status NOT IN ('active', 'grace') OR activated_at IS NOT NULL),
  CHECK (status <> 'grace' OR grace_started_at IS NOT NULL)
);
-- One provisioning/active/grace session per user, whatever replica or request created it.
CREATE UNIQUE INDEX sessions_one_live_per_user
  ON sessions (user_id) WHERE status IN ('provisioning', 'active', 'grace');
CREATE INDEX sessions_user_started_idx ON sessions (user_id, started_at);
CREATE INDEX sessions_live_status_idx ON sessions (status) WHERE status <> 'stopped';

CREATE TABLE idempotency_records (
  id bigserial PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  endpoint text NOT NULL,
  idempotency_key uuid NOT NULL,
  request_hash text NOT NULL,
  status_code integer NOT NULL CHECK (status_code BETWEEN 100 AND 599),
  session_id text REFERENCES sessions (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  UNIQUE (user_id, endpoint, idempotency_key)
);
CREATE INDEX idempotency_records_expiry_idx ON idempotency_records (expires_at);

CREATE TABLE usage_records (
  id text PRIMARY KEY CHECK (id LIKE 'use\_%'),
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  cycle_start_at timestamptz NOT NULL,
  cycle_end_at timestamptz NOT NULL,
  measured_seconds integer NOT NULL DEFAULT 0 CHECK (measured_seconds >= 0),
  reconciled_seconds integer NOT NULL DEFAULT 0 CHECK (reconciled_seconds >= 0),
  billable_seconds integer NOT NULL DEFAULT 0 CHECK (billable_seconds >= 0),
  overage_seconds integer NOT NULL DEFAULT 0 CHECK (overage_seconds >= 0),
  updated_at timestamptz NOT NULL,
  UNIQUE (session_id, cycle_start_at)
);
CREATE INDEX usage_records_user_cycle_idx ON usage_records (user_id, cycle_start_at);

CREATE TABLE relay_health_events (
  id bigserial PRIMARY KEY,
  session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  relay_instance_id text NOT NULL REFERENCES relay_instances (id),
  observed_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  ingest_active boolean NOT NULL,
  egress_active boolean NOT NULL,
  session_uptime_seconds integer NOT NULL CHECK (session_uptime_seconds >= 0),
  payload_json jsonb NOT NULL
);
CREATE INDEX relay_health_events_session_time_idx ON relay_health_events (session_id, observed_at);
CREATE INDEX relay_health_events_observed_idx ON relay_health_events (observed_at);

CREATE TABLE billing_adjustments (
  id text PRIMARY KEY CHECK (id LIKE 'adj\_%'),
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  session_id text REFERENCES sessions (id) ON DELETE CASCADE,
  adjustment_seconds integer NOT NULL,
  reason text NOT NULL CHECK (reason IN ('outage_reconciliation', 'manual_correction', 'dispute_resolution')),
  source text NOT NULL CHECK (source IN ('relay_health', 'admin_tool', 'automated_job')),
  created_at timestamptz NOT NULL
);
CREATE INDEX billing_adjustments_session_idx ON billing_adjustments (session_id);

CREATE TABLE relay_manifests (
  region text PRIMARY KEY,
  image_id text NOT NULL,
  default_instance_type text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
