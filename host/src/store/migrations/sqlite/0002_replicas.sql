-- Schema version 2: the hosts serving from this store (replicas), each
-- with its heartbeat, the deployment each serves in each slot (so an
-- admin sees which replicas serve a change and which lag), and each
-- one's report of a slot's shadow trial (summed for the admin). On SQLite there
-- is one host; the tables are kept alike on both engines.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL
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
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (replica, org, function)
);
CREATE TABLE trial_reports (
    replica TEXT NOT NULL,
    org TEXT NOT NULL,
    function TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    report TEXT NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (replica, org, function)
);
