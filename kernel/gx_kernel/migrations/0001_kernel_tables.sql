-- The kernel's tables as services created them at start before migrations existed
-- (EventStore.setup, idempotency.ddl, RelayTables.setup, the consumer's setup). IF NOT EXISTS:
-- a schema made that way adopts the migrations without change. Names resolve in the
-- service's schema (the runner sets search_path).
CREATE TABLE IF NOT EXISTS streams (
    stream_id text PRIMARY KEY,
    version integer NOT NULL,
    last_tx_id bigint NOT NULL
);

CREATE TABLE IF NOT EXISTS events (
    position bigserial NOT NULL,
    tx_id bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    id uuid NOT NULL UNIQUE,
    stream_id text NOT NULL,
    version integer NOT NULL,
    type text NOT NULL,
    schema_version integer NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tx_id, position),
    UNIQUE (stream_id, version)
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status integer NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);

CREATE TABLE IF NOT EXISTS relay_checkpoints (
    name text PRIMARY KEY,
    tx_id bigint NOT NULL,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Added to running deployments by the relay's setup; here for schemas made before that.
ALTER TABLE relay_checkpoints ADD COLUMN IF NOT EXISTS cluster_id text;
ALTER TABLE relay_checkpoints ADD COLUMN IF NOT EXISTS offsets jsonb NOT NULL DEFAULT '{}';

CREATE TABLE IF NOT EXISTS relay_stuck (
    name text PRIMARY KEY,
    event_id uuid NOT NULL,
    tx_id bigint NOT NULL,
    position bigint NOT NULL,
    stream_id text NOT NULL,
    version integer NOT NULL,
    event_type text NOT NULL,
    error text NOT NULL,
    attempts integer NOT NULL,
    since timestamptz NOT NULL DEFAULT now(),
    retry_requested_at timestamptz
);

CREATE TABLE IF NOT EXISTS relay_parked (
    name text NOT NULL,
    event_id uuid NOT NULL,
    tx_id bigint NOT NULL,
    position bigint NOT NULL,
    stream_id text NOT NULL,
    version integer NOT NULL,
    reason text NOT NULL,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, event_id)
);

CREATE TABLE IF NOT EXISTS consumed_events (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    topic text NOT NULL,
    partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    outcome text NOT NULL,
    error text,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
