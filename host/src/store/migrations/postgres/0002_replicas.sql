-- Schema version 2 for PostgreSQL: the same tables as
-- ../sqlite/0002_replicas.sql.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL
);
CREATE TABLE replica_slots (
    replica TEXT NOT NULL,
    org TEXT NOT NULL,
    function TEXT NOT NULL,
    module_hash TEXT NOT NULL,
    module_label TEXT NOT NULL,
    trial_module TEXT,
    -- The active deployment's recent callers here (calls and failures per
    -- caller hash), so automatic rollback judges every replica's callers.
    health TEXT NOT NULL DEFAULT '[]',
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (replica, org, function)
);
CREATE TABLE trial_reports (
    replica TEXT NOT NULL,
    org TEXT NOT NULL,
    function TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    report TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (replica, org, function)
);
