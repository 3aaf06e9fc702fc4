-- Keys, teams and the cost ledger.
CREATE TABLE IF NOT EXISTS teams (
    id          text PRIMARY KEY,
    limits      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS api_keys (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    team            text NOT NULL,
    owner           text,
    key_hash        bytea NOT NULL UNIQUE,      -- sha256 of the secret; the secret is never stored
    key_prefix      text NOT NULL,              -- first characters, to recognise a key in a list
    scopes          text[] NOT NULL,
    allowed_models  text[],                     -- NULL: every target
    is_admin        boolean NOT NULL DEFAULT false,
    limits          jsonb NOT NULL DEFAULT '{}'::jsonb,
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at      timestamptz,
    expires_at      timestamptz
);
CREATE INDEX IF NOT EXISTS api_keys_updated_at ON api_keys (updated_at);

-- One row per upstream attempt (and one per call refused before any attempt).
CREATE TABLE IF NOT EXISTS ledger (
    id                  bigserial PRIMARY KEY,
    ts                  timestamptz NOT NULL,
    request_id          text NOT NULL,
    attempt             integer NOT NULL DEFAULT 0,
    endpoint            text NOT NULL,
    key_id              text,
    team                text,
    requested_model     text,
    target              text,
    provider            text,
    upstream_model      text,
    rule                text,
    policy_version      integer,
    prompt_tokens       integer NOT NULL DEFAULT 0,
    completion_tokens   integer NOT NULL DEFAULT 0,
    cached_tokens       integer NOT NULL DEFAULT 0,
    usage_source        text NOT NULL DEFAULT 'none',   -- provider | estimated | none
    cost_usd            numeric(20, 10) NOT NULL DEFAULT 0,
    latency_ms          double precision,
    ttft_ms             double precision,
    status              integer NOT NULL,
    error_code          text,
    stream              boolean NOT NULL DEFAULT false,
    client_disconnected boolean NOT NULL DEFAULT false,
    simulated           boolean NOT NULL DEFAULT false,
    UNIQUE (request_id, attempt)
);
CREATE INDEX IF NOT EXISTS ledger_ts ON ledger (ts);
CREATE INDEX IF NOT EXISTS ledger_key_ts ON ledger (key_id, ts);
