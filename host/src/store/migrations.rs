//! The store's schema, as numbered migrations. A store records the version
//! it is at (the `schema_version` table, one row per migration applied);
//! opening it applies, in one transaction, every migration it lacks. A host
//! never runs against a store whose version is newer than the migrations it
//! knows: it refuses to start and changes nothing, since a newer host may
//! have changed what the tables mean.
//!
//! Each migration's SQL is a file of its own per engine, numbered, under
//! `migrations/sqlite/` and `migrations/postgres/`: the same tables in each
//! engine's types. A migration, once released, is never edited: a change is
//! a new migration, written for both engines.

use rusqlite::{Connection, TransactionBehavior};

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number: the schema version it brings a store to.
    pub version: u32,
    /// What it does.
    pub name: &'static str,
    /// Its SQL, for SQLite.
    pub sqlite: &'static str,
    /// Its SQL, for PostgreSQL.
    pub postgres: &'static str,
}

/// Every migration, in order; the last one's version is the schema version
/// this host knows.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "records, audit trail and module registry",
        sqlite: include_str!("migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "replicas and what each serves",
        sqlite: include_str!("migrations/sqlite/0002_replicas.sql"),
        postgres: include_str!("migrations/postgres/0002_replicas.sql"),
    },
    Migration {
        version: 3,
        name: "bulk exports and their files",
        sqlite: include_str!("migrations/sqlite/0003_exports.sql"),
        postgres: include_str!("migrations/postgres/0003_exports.sql"),
    },
    Migration {
        version: 4,
        name: "what each module says it needs",
        sqlite: include_str!("migrations/sqlite/0004_module_limits.sql"),
        postgres: include_str!("migrations/postgres/0004_module_limits.sql"),
    },
];

/// The PostgreSQL advisory lock that one host at a time holds while it
/// migrates, so replicas starting together take turns.
const POSTGRES_MIGRATION_LOCK: i64 = 0x7061_7463_6862_6179; // "patchbay"

/// The schema version this host knows.
pub fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Why a store's schema cannot be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The store was written by a newer host.
    #[error(
        "the store is at schema version {found}, newer than this host knows ({known}): it was written by a newer Patchbay. Run that version (or newer), or restore a backup taken before it ran; nothing was changed"
    )]
    Newer {
        /// The store's version.
        found: u32,
        /// The newest this host knows.
        known: u32,
    },
    /// A migration failed; the transaction was rolled back.
    #[error(
        "migrating the store to schema version {version} ({name}) failed, so nothing was changed: {source}"
    )]
    Failed {
        /// The migration.
        version: u32,
        /// What it does.
        name: &'static str,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The SQLite store could not be read or written.
    #[error("cannot read or write the store's schema version: {0}")]
    Store(#[from] rusqlite::Error),
    /// The PostgreSQL store could not be read or written.
    #[error("cannot read or write the store's schema version: {0}")]
    Postgres(#[from] postgres::Error),
}

/// Brings the store up to [`latest`], in one transaction; returns the
/// versions applied (none when it was up to date).
pub fn apply(conn: &mut Connection) -> Result<Vec<u32>, MigrationError> {
    apply_these(conn, MIGRATIONS)
}

/// The store's schema version: 0 for a store with none.
pub fn current(conn: &Connection) -> Result<u32, MigrationError> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?)
}

fn apply_these(
    conn: &mut Connection,
    migrations: &[Migration],
) -> Result<Vec<u32>, MigrationError> {
    let known = migrations.last().map_or(0, |m| m.version);
    // IMMEDIATE: two hosts starting on one store at once take turns.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_ms INTEGER NOT NULL
        )",
    )?;
    let found = current(&tx)?;
    if found > known {
        return Err(MigrationError::Newer { found, known });
    }
    let now = now_ms();
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > found) {
        tx.execute_batch(m.sqlite)
            .map_err(|source| MigrationError::Failed {
                version: m.version,
                name: m.name,
                source: Box::new(source),
            })?;
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_ms) VALUES (?1, ?2, ?3)",
            (m.version, m.name, now),
        )?;
        applied.push(m.version);
    }
    tx.commit()?;
    Ok(applied)
}

/// Brings a PostgreSQL store up to [`latest`], in one transaction under an
/// advisory lock (replicas starting together take turns); returns the
/// versions applied.
pub fn apply_postgres(client: &mut postgres::Client) -> Result<Vec<u32>, MigrationError> {
    apply_postgres_these(client, MIGRATIONS)
}

fn apply_postgres_these(
    client: &mut postgres::Client,
    migrations: &[Migration],
) -> Result<Vec<u32>, MigrationError> {
    let known = migrations.last().map_or(0, |m| m.version);
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&POSTGRES_MIGRATION_LOCK],
    )?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_ms BIGINT NOT NULL
        )",
    )?;
    let found: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .get(0);
    let found = u32::try_from(found).unwrap_or(0);
    if found > known {
        return Err(MigrationError::Newer { found, known });
    }
    let now = now_ms();
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > found) {
        tx.batch_execute(m.postgres)
            .map_err(|source| MigrationError::Failed {
                version: m.version,
                name: m.name,
                source: Box::new(source),
            })?;
        let version = i32::try_from(m.version).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO schema_version (version, name, applied_ms) VALUES ($1, $2, $3)",
            &[&version, &m.name, &now],
        )?;
        applied.push(m.version);
    }
    tx.commit()?;
    Ok(applied)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every version, in order.
    fn every() -> Vec<u32> {
        MIGRATIONS.iter().map(|m| m.version).collect()
    }

    /// Every migration, then one that adds a table and fails.
    fn with_a_failing_one(sqlite: &'static str, postgres: &'static str) -> Vec<Migration> {
        let mut all = MIGRATIONS.to_vec();
        all.push(Migration {
            version: latest() + 1,
            name: "adds a table, then fails",
            sqlite,
            postgres,
        });
        all
    }

    fn memory() -> Connection {
        Connection::open_in_memory().expect("an in-memory database")
    }

    #[test]
    fn a_new_store_gets_every_migration_once() {
        let mut conn = memory();
        assert_eq!(apply(&mut conn).expect("migrated"), every());
        assert_eq!(current(&conn).expect("version"), latest());
        assert!(apply(&mut conn).expect("up to date").is_empty());
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('slots', 'audit_trail', 'deployments')",
                [],
                |r| r.get(0),
            )
            .expect("tables");
        assert_eq!(tables, 3);
    }

    #[test]
    fn a_store_from_before_versions_adopts_version_one_with_its_rows() {
        let mut conn = memory();
        conn.execute_batch(
            "CREATE TABLE organisations (ods TEXT PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO organisations VALUES ('Y90001', 'Riverside');",
        )
        .expect("an old store");
        assert_eq!(apply(&mut conn).expect("migrated"), every());
        let name: String = conn
            .query_row("SELECT name FROM organisations", [], |r| r.get(0))
            .expect("the row is kept");
        assert_eq!(name, "Riverside");
    }

    #[test]
    fn a_newer_store_is_refused_and_left_unchanged() {
        let mut conn = memory();
        apply(&mut conn).expect("migrated");
        conn.execute(
            "INSERT INTO schema_version (version, name, applied_ms) VALUES (99, 'from the future', 0)",
            [],
        )
        .expect("a newer version");
        let error = apply(&mut conn).expect_err("refused");
        assert!(matches!(error, MigrationError::Newer { found: 99, known } if known == latest()));
        assert!(error.to_string().contains("nothing was changed"), "{error}");
        assert_eq!(current(&conn).expect("version"), 99);
    }

    #[test]
    fn a_failing_migration_changes_nothing() {
        let mut conn = memory();
        apply(&mut conn).expect("migrated");
        let broken = with_a_failing_one(
            "CREATE TABLE added (x INTEGER); SELECT * FROM no_such_table;",
            "",
        );
        let error = apply_these(&mut conn, &broken).expect_err("fails");
        assert!(
            matches!(error, MigrationError::Failed { version, .. } if version == latest() + 1),
            "{error}"
        );
        assert_eq!(current(&conn).expect("version"), latest());
        let added: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'added'",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(added, 0, "the failed migration's table was rolled back");
    }

    /// A PostgreSQL database of its own, with a random name, dropped when
    /// done: on the server every development and CI machine runs
    /// (`PATCHBAY_TEST_POSTGRES` names another).
    struct PostgresDatabase {
        admin: String,
        name: String,
    }

    impl PostgresDatabase {
        fn create() -> (PostgresDatabase, postgres::Client) {
            let admin = std::env::var("PATCHBAY_TEST_POSTGRES").unwrap_or_else(|_| {
                "host=127.0.0.1 port=5432 user=postgres dbname=test".to_string()
            });
            let name = format!("patchbay_test_{}", uuid::Uuid::new_v4().simple());
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)
                .expect("PostgreSQL at 127.0.0.1:5432 (user postgres, database test)");
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create a database");
            let config = format!("{admin} dbname={name}");
            let client = postgres::Client::connect(&config, postgres::NoTls).expect("connect");
            (PostgresDatabase { admin, name }, client)
        }
    }

    impl Drop for PostgresDatabase {
        fn drop(&mut self) {
            if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
                let _ = client.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        }
    }

    #[test]
    fn postgres_gets_the_same_versions_and_refuses_a_newer_store() {
        let (_db, mut client) = PostgresDatabase::create();
        assert_eq!(apply_postgres(&mut client).expect("migrated"), every());
        assert!(apply_postgres(&mut client).expect("up to date").is_empty());
        let tables: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name IN ('slots', 'audit_trail', 'deployments', 'module_access')",
                &[],
            )
            .expect("tables")
            .get(0);
        assert_eq!(tables, 4);
        // One live appointment per slot, as in SQLite.
        client
            .batch_execute(
                "INSERT INTO appointments VALUES ('Y1', 'a1', 's1', '9990000018', 0, 1, 'booked', NULL, NULL, NULL, 0, 1, 0);",
            )
            .expect("a booking");
        let twice = client.batch_execute(
            "INSERT INTO appointments VALUES ('Y1', 'a2', 's1', '9990000026', 0, 1, 'booked', NULL, NULL, NULL, 0, 1, 0);",
        );
        assert!(twice.is_err(), "a slot was booked twice");
        client
            .execute(
                "INSERT INTO schema_version (version, name, applied_ms) VALUES (99, 'from the future', 0)",
                &[],
            )
            .expect("a newer version");
        let error = apply_postgres(&mut client).expect_err("refused");
        assert!(
            matches!(error, MigrationError::Newer { found: 99, .. }),
            "{error}"
        );
    }

    #[test]
    fn a_failing_postgres_migration_changes_nothing() {
        let (_db, mut client) = PostgresDatabase::create();
        apply_postgres(&mut client).expect("migrated");
        let broken = with_a_failing_one(
            "",
            "CREATE TABLE added (x INTEGER); SELECT * FROM no_such_table;",
        );
        let error = apply_postgres_these(&mut client, &broken).expect_err("fails");
        assert!(
            matches!(error, MigrationError::Failed { version, .. } if version == latest() + 1),
            "{error}"
        );
        let added: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'added'",
                &[],
            )
            .expect("count")
            .get(0);
        assert_eq!(added, 0, "the failed migration's table was rolled back");
    }
}
