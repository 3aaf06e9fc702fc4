-- Routing policies: every version ever activated, append-only, plus one pointer per name to the active one.
-- A rollback activates a copy of an old version as a new version, so history never changes.
CREATE TABLE IF NOT EXISTS policy_versions (
    name        text NOT NULL,
    version     integer NOT NULL CHECK (version > 0),
    text        text NOT NULL,                              -- exactly as submitted
    format      text NOT NULL CHECK (format IN ('yaml', 'json')),
    sha256      text NOT NULL,                              -- hex digest of text (UTF-8)
    created_by  text,                                       -- the admin key's id ("master", "seed")
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    note        text,                                       -- e.g. "rollback to version 3"
    PRIMARY KEY (name, version)
);

CREATE TABLE IF NOT EXISTS policies (
    name            text PRIMARY KEY,
    active_version  integer NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_by      text,
    FOREIGN KEY (name, active_version) REFERENCES policy_versions (name, version)
);
