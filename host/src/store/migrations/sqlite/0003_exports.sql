-- Schema version 3: bulk exports (FHIR Bulk Data Access). A job and its
-- files are kept in the store, not on one host's disk, so whichever replica
-- a client reaches answers its status polls and serves its files.
CREATE TABLE exports (
    id TEXT PRIMARY KEY,
    org TEXT NOT NULL,
    -- The kick-off request, as the manifest repeats it.
    request TEXT NOT NULL,
    -- in-progress, complete or failed.
    state TEXT NOT NULL,
    -- What the job is doing, for X-Progress.
    progress TEXT NOT NULL,
    requested_ms INTEGER NOT NULL,
    requested_by TEXT NOT NULL,
    -- When its state or progress last changed: a job in progress whose
    -- host stopped is seen by this going stale.
    updated_ms INTEGER NOT NULL,
    -- The completion manifest (JSON), once complete.
    manifest TEXT,
    -- Why it failed.
    error TEXT
);
CREATE INDEX exports_by_org ON exports (org, requested_ms);
CREATE TABLE export_files (
    export_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (export_id, name)
);
