-- Schema version 2: the hosts serving from this store (replicas), each
-- with its heartbeat, and the deployment each serves in each slot, so an
-- admin sees which replicas serve a change and which lag. On SQLite there
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
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (replica, org, function)
);
