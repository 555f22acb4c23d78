-- Schema version 3 for PostgreSQL: the same tables as
-- ../sqlite/0003_exports.sql.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    progress TEXT NOT NULL,
    requested_ms BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    manifest TEXT,
    error TEXT
);
CREATE INDEX exports_by_org ON exports (org, requested_ms);
CREATE TABLE export_files (
    export_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content BYTEA NOT NULL,
    PRIMARY KEY (export_id, name)
);
