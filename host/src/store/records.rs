//! The records store: the organisations' data in standard form, in SQLite
//! (one file in the data directory, in WAL mode, so readers never wait for a
//! writer) or in PostgreSQL (shared by replicas; see
//! [`crate::store::database`]). Every table is partitioned by organisation (ODS code): every query
//! names the organisation, and the host interfaces take it from the call, never
//! from a module. Connections come from a small pool; a module call holds one
//! for its whole transaction.
//!
//! The database holds patients' identities, so its file (and SQLite's `-wal`
//! and `-shm` beside it) is private to the host's user, mode 0600; a
//! database file another user owns is refused.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::store::database::{Engine, Location, Pool};
use crate::store::write_batch::WriteBatches;

pub use crate::store::database::{Connection, PooledConnection};

/// The host's records store: a database (SQLite or PostgreSQL) and a pool
/// of connections to it.
#[derive(Clone)]
pub struct RecordStore {
    pool: Pool,
    /// SQLite: write calls share transactions (see
    /// [`crate::store::write_batch`]).
    batches: Option<WriteBatches>,
}

impl RecordStore {
    /// Opens (creating if needed) the SQLite database file at `path` and
    /// brings its schema up to date (see [`crate::store::migrations`]); a
    /// store newer than this host is refused. The file is made private to
    /// this user (0600), and refused if another user owns it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_at(&Location::Sqlite(path.to_path_buf()))
    }

    /// Opens the store at `location`, either engine, and brings its schema
    /// up to date.
    pub fn open_at(location: &Location) -> anyhow::Result<Self> {
        if let Location::Sqlite(path) = location {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("cannot create the data directory {}", dir.display())
                })?;
            }
            make_private(path)?;
        }
        let store = RecordStore {
            pool: Pool::new(location.clone()),
            batches: match location.engine() {
                Engine::Sqlite => Some(WriteBatches::default()),
                // Its row locks let writers run together.
                Engine::Postgres => None,
            },
        };
        let mut conn = store
            .connection()
            .with_context(|| format!("cannot open the records store {location}"))?;
        let applied = match conn.get_mut().as_sqlite() {
            Some(sqlite) => crate::store::migrations::apply(sqlite),
            None => conn
                .with_postgres(crate::store::migrations::apply_postgres)
                .unwrap_or_else(|| Ok(Vec::new())),
        }
        .with_context(|| format!("the records store {location}"))?;
        if !applied.is_empty() {
            tracing::info!(store = %location, versions = ?applied, "applied schema migrations");
        }
        if let Location::Sqlite(path) = location {
            // SQLite made its -wal and -shm files with the database's mode;
            // a loose one left from before is tightened now.
            make_private(path)?;
        }
        Ok(store)
    }

    /// Opens a fresh, empty store in a new temporary file, for scratch work
    /// such as conformance runs and tests. The file is removed when the
    /// returned guard is dropped.
    pub fn scratch() -> anyhow::Result<(Self, ScratchFile)> {
        let path = std::env::temp_dir().join(format!("care-scratch-{}.db", uuid::Uuid::new_v4()));
        let store = Self::open(&path)?;
        Ok((store, ScratchFile(path)))
    }

    /// Where the database is.
    pub fn location(&self) -> &Location {
        self.pool.location()
    }

    /// The engine the store runs on.
    pub fn engine(&self) -> Engine {
        self.pool.location().engine()
    }

    /// The batches write calls share on SQLite; none on PostgreSQL, whose
    /// writers take row locks and run together.
    pub fn write_batches(&self) -> Option<&WriteBatches> {
        self.batches.as_ref()
    }

    /// A connection from the pool; it goes back when dropped.
    pub fn connection(&self) -> anyhow::Result<PooledConnection> {
        self.pool
            .get()
            .with_context(|| format!("cannot open the records store {}", self.location()))
    }
}

/// Makes the database file and its `-wal` and `-shm` (if present) private to
/// this user: a missing database file is created empty with mode 0600 before
/// SQLite opens it (SQLite gives its `-wal` and `-shm` the database's mode);
/// an existing one open to others is tightened to 0600, with a warning; one
/// another user owns is refused, since its records may not be the host's.
fn make_private(path: &Path) -> anyhow::Result<()> {
    let context = || format!("the records store {}", path.display());
    crate::store::private_files::create_private_file(path).with_context(context)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        crate::store::private_files::ensure_private_file(Path::new(&file)).with_context(context)?;
    }
    Ok(())
}

/// Removes a scratch store's files when dropped.
pub struct ScratchFile(PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A new record id: a UUID, valid as a FHIR id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    fn sqlite_file(store: &RecordStore) -> PathBuf {
        crate::store::database::sqlite_path(store.location())
            .expect("a SQLite store")
            .to_path_buf()
    }

    #[test]
    fn the_database_is_private_to_the_host() {
        let (store, _scratch) = RecordStore::scratch().expect("store");
        let path = sqlite_file(&store);
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&wal), 0o600, "SQLite's -wal too");
        // A database left open to others is tightened when opened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        RecordStore::open(&path).expect("reopened");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_database_another_user_owns_is_refused() {
        let (store, _scratch) = RecordStore::scratch().expect("store");
        let path = sqlite_file(&store);
        drop(store);
        // The tests run as root; 65534 is `nobody`.
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).expect("chown");
        let error = format!("{:#}", RecordStore::open(&path).err().expect("refused"));
        assert!(error.contains("belongs to user id 65534"), "{error}");
    }
}
