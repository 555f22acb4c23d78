-- Schema version 1: the records, the audit trail and the module registry,
-- as they stood when the store began carrying a schema version. Every
-- statement is IF NOT EXISTS (or OR IGNORE), so a store made before
-- versions existed adopts version 1 as it is.

-- The records, in standard form, per organisation.
CREATE TABLE IF NOT EXISTS organisations (
    ods TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS patients (
    org TEXT NOT NULL,
    nhs_number TEXT NOT NULL,
    name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    PRIMARY KEY (org, nhs_number)
);
CREATE TABLE IF NOT EXISTS schedules (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    service_system TEXT NOT NULL,
    service_code TEXT NOT NULL,
    service_display TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_display TEXT,
    PRIMARY KEY (org, id)
);
CREATE TABLE IF NOT EXISTS slots (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    delivery_channel TEXT NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX IF NOT EXISTS slots_by_start ON slots (org, start_ms);
CREATE TABLE IF NOT EXISTS appointments (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    slot_id TEXT NOT NULL,
    patient TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    status TEXT NOT NULL,
    description TEXT,
    comment TEXT,
    cancellation_reason TEXT,
    created_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX IF NOT EXISTS appointments_by_patient ON appointments (org, patient, start_ms);
-- At most one live appointment per slot, whatever a module does.
CREATE UNIQUE INDEX IF NOT EXISTS appointments_one_per_slot ON appointments (org, slot_id)
    WHERE status NOT IN ('cancelled', 'entered-in-error');
CREATE TABLE IF NOT EXISTS medication_requests (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    patient TEXT NOT NULL,
    medication_system TEXT NOT NULL,
    medication_code TEXT NOT NULL,
    medication_display TEXT,
    dosage_text TEXT NOT NULL,
    dose REAL NOT NULL,
    dose_unit TEXT NOT NULL,
    frequency_per_day INTEGER NOT NULL,
    as_needed INTEGER NOT NULL,
    route_system TEXT,
    route_code TEXT,
    route_display TEXT,
    status TEXT NOT NULL,
    intent TEXT NOT NULL,
    authored_ms INTEGER NOT NULL,
    requester_kind TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    requester_display TEXT,
    override_reason TEXT,
    status_reason TEXT,
    version INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (org, id)
);
CREATE INDEX IF NOT EXISTS medication_requests_by_patient ON medication_requests (org, patient, authored_ms);
CREATE TABLE IF NOT EXISTS allergies (
    org TEXT NOT NULL,
    id TEXT NOT NULL,
    patient TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    code_display TEXT,
    criticality TEXT NOT NULL,
    reaction TEXT,
    recorded_ms INTEGER NOT NULL,
    PRIMARY KEY (org, id)
);

-- The audit trail: one keyed hash chain per organisation.
CREATE TABLE IF NOT EXISTS audit_trail (
    org TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    user TEXT NOT NULL,
    user_name TEXT,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT,
    patient TEXT,
    outcome TEXT NOT NULL,
    detail TEXT,
    module TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (org, seq)
);

-- The module registry: modules, deployments, trials, who may see what.
CREATE TABLE IF NOT EXISTS modules (
    hash TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    world TEXT NOT NULL,
    component BLOB NOT NULL,
    requested_grants TEXT,
    signed_by TEXT,
    added_ms INTEGER NOT NULL,
    added_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY,
    org TEXT NOT NULL,
    function TEXT NOT NULL,
    module_hash TEXT NOT NULL REFERENCES modules (hash),
    module_label TEXT NOT NULL,
    limits TEXT NOT NULL,
    grants TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    deployed_ms INTEGER NOT NULL,
    deployed_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deployments_by_slot ON deployments (org, function, id);
CREATE TABLE IF NOT EXISTS trials (
    org TEXT NOT NULL,
    function TEXT NOT NULL,
    mode TEXT NOT NULL,
    module_hash TEXT NOT NULL REFERENCES modules (hash),
    module_label TEXT NOT NULL,
    percent INTEGER NOT NULL,
    limits TEXT NOT NULL,
    grants TEXT NOT NULL,
    reason TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    started_by TEXT NOT NULL,
    PRIMARY KEY (org, function)
);
-- Which organisation may see and deploy which module: the one that
-- uploaded it or named it in the configuration. Bundled modules are
-- everyone's.
CREATE TABLE IF NOT EXISTS module_access (
    org TEXT NOT NULL,
    module_hash TEXT NOT NULL REFERENCES modules (hash),
    PRIMARY KEY (org, module_hash)
);
-- An organisation may see every module it has deployed or tried.
INSERT OR IGNORE INTO module_access (org, module_hash)
    SELECT DISTINCT org, module_hash FROM deployments;
INSERT OR IGNORE INTO module_access (org, module_hash)
    SELECT DISTINCT org, module_hash FROM trials;
CREATE TABLE IF NOT EXISTS conformance_passed (
    module_hash TEXT PRIMARY KEY REFERENCES modules (hash),
    report TEXT NOT NULL,
    ran_ms INTEGER NOT NULL
);
