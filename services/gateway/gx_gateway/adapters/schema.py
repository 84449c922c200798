"""Tables of the gateway's own schema (identity, refresh tokens, devices and their enrolment
requests, idempotency, subscribers' topics)."""
from __future__ import annotations


def ddl(schema: str) -> str:
    s = schema
    return f"""
CREATE TABLE IF NOT EXISTS {s}.users (
    user_id uuid PRIMARY KEY,
    username text NOT NULL UNIQUE,
    name_zh text NOT NULL,
    role text NOT NULL,
    division text NOT NULL,
    password_hash text NOT NULL,
    failed_attempts integer NOT NULL DEFAULT 0,  -- unused since login throttling (kept)
    locked_until timestamptz,                    -- unused since login throttling (kept)
    active boolean NOT NULL DEFAULT true,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.refresh_tokens (
    token_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES {s}.users(user_id),
    family_id uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON {s}.refresh_tokens (family_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_revoked ON {s}.refresh_tokens (revoked_at)
    WHERE revoked_at IS NOT NULL;
-- Login throttling (登录限速): wrong passwords per username, per client address, per device.
-- Keys need not name an existing account, so throttling says nothing about who exists.
CREATE TABLE IF NOT EXISTS {s}.login_throttle (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    last_failure timestamptz NOT NULL,
    blocked_until timestamptz
);
-- Request rate limits (令牌桶) shared by every gateway replica: a replica leases a few tokens
-- at a time (application/shared_limits.py). UNLOGGED: a crash only refills the buckets.
CREATE UNLOGGED TABLE IF NOT EXISTS {s}.rate_buckets (
    key text PRIMARY KEY,
    tokens double precision NOT NULL,
    granted integer NOT NULL,
    at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.devices (
    device_id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES {s}.users(user_id),
    label text NOT NULL,
    public_key bytea NOT NULL,
    enrolled_by uuid NOT NULL,
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    revoked_by uuid
);
CREATE INDEX IF NOT EXISTS devices_user ON {s}.devices (user_id);
-- A phone's own request to be enrolled (登记申请), decided by the county (or region).
CREATE TABLE IF NOT EXISTS {s}.device_requests (
    request_id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES {s}.users(user_id),
    label text NOT NULL,
    public_key bytea NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    decided_by uuid,
    decided_at timestamptz,
    reason text,
    device_id uuid
);
CREATE INDEX IF NOT EXISTS device_requests_pending ON {s}.device_requests (status, requested_at);
CREATE TABLE IF NOT EXISTS {s}.gw_idempotency (
    owner text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'done')),
    status integer,
    body bytea,
    content_type text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE TABLE IF NOT EXISTS {s}.subscriber_topics (
    user_id uuid NOT NULL REFERENCES {s}.users(user_id),
    topic text NOT NULL,
    granted_by uuid NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, topic)
);
"""
