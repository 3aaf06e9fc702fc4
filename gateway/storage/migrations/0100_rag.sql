-- RAG catalog: uploaded files (raw bytes kept here, transactional with their metadata), vector stores,
-- and which file is attached to which store. Every row carries its tenant (the key's team); every query
-- filters on it, so another tenant's id behaves as if it did not exist.
CREATE TABLE IF NOT EXISTS rag_files (
    id              text PRIMARY KEY,                       -- "file-..."
    tenant          text NOT NULL,
    filename        text NOT NULL,
    bytes           bigint NOT NULL,
    purpose         text NOT NULL,
    kind            text NOT NULL,                          -- detected type: text, markdown, html, pdf, ...
    sha256          bytea NOT NULL,
    content         bytea NOT NULL,
    blocks          jsonb NOT NULL,                         -- parsed at upload, so ingestion never re-parses
    status          text NOT NULL DEFAULT 'processed',
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (id, tenant)                                     -- target of the tenant-matching foreign key
);
-- Re-uploading the same content for the same purpose returns the existing file.
CREATE UNIQUE INDEX IF NOT EXISTS rag_files_dedup ON rag_files (tenant, sha256, purpose);
CREATE INDEX IF NOT EXISTS rag_files_tenant_created ON rag_files (tenant, created_at, id);

CREATE TABLE IF NOT EXISTS rag_vector_stores (
    id              text PRIMARY KEY,                       -- "vs_..."
    tenant          text NOT NULL,
    name            text NOT NULL DEFAULT '',
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    expires_after   jsonb,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_active_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (id, tenant)
);
CREATE INDEX IF NOT EXISTS rag_vector_stores_tenant_created ON rag_vector_stores (tenant, created_at, id);

-- usage_bytes and file_counts of a store are aggregated from these rows when read, so they never drift.
-- The foreign keys include the tenant: the database itself refuses to attach one tenant's file to
-- another tenant's store, whatever the code above it does.
CREATE TABLE IF NOT EXISTS rag_vector_store_files (
    store_id        text NOT NULL,
    file_id         text NOT NULL,
    tenant          text NOT NULL,
    status          text NOT NULL CHECK (status IN ('in_progress', 'completed', 'failed', 'cancelled')),
    last_error      jsonb,                                  -- {"code", "message"} when failed
    chunk_count     integer NOT NULL DEFAULT 0,
    usage_bytes     bigint NOT NULL DEFAULT 0,
    attributes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    chunking        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (store_id, file_id),
    FOREIGN KEY (store_id, tenant) REFERENCES rag_vector_stores (id, tenant) ON DELETE CASCADE,
    FOREIGN KEY (file_id, tenant) REFERENCES rag_files (id, tenant) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS rag_vector_store_files_tenant_file ON rag_vector_store_files (tenant, file_id);
CREATE INDEX IF NOT EXISTS rag_vector_store_files_store_created
    ON rag_vector_store_files (store_id, created_at, file_id);
