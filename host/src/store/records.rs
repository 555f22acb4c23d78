//! The records store: the organisations' data in standard form, in SQLite.
//!
//! One file in the data directory, in WAL mode, so readers never wait for a
//! writer. Every table is partitioned by organisation (ODS code): every query
//! names the organisation, and the host interfaces take it from the call, never
//! from a module. Connections come from a small pool; a module call holds one
//! for its whole transaction.
//!
//! The database holds patients' identities, so its file (and SQLite's `-wal`
//! and `-shm` beside it) is private to the host's user, mode 0600; a
//! database file another user owns is refused.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::Connection;

/// How long a writer waits for another writer's transaction to end before it
/// gives up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 32;

/// Waits for another connection's write lock: SQLite's own busy timeout
/// sleeps in coarse steps (up to 100 ms), so a writer that finds the lock
/// taken for a millisecond may sleep for tens. This retries every 100 µs for
/// the first 10 ms, then every millisecond, for up to [`BUSY_TIMEOUT`].
fn wait_for_lock(attempt: i32) -> bool {
    let attempt = attempt.max(0) as u64;
    let (fine, fine_step, coarse_step) =
        (100u64, Duration::from_micros(100), Duration::from_millis(1));
    let waited = if attempt < fine {
        fine_step * attempt as u32
    } else {
        fine_step * fine as u32 + coarse_step * (attempt - fine) as u32
    };
    if waited >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep(if attempt < fine {
        fine_step
    } else {
        coarse_step
    });
    true
}

/// The host's records store: a SQLite database and a pool of connections.
#[derive(Clone)]
pub struct RecordStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl RecordStore {
    /// Opens (creating if needed) the database file at `path` and brings its
    /// schema up to date (see [`crate::store::migrations`]); a store newer
    /// than this host is refused. The file is made private to this user (0600), and refused if
    /// another user owns it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        }
        make_private(path)?;
        let store = RecordStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
            }),
        };
        let mut conn = store.connection()?;
        let applied = crate::store::migrations::apply(&mut conn)
            .with_context(|| format!("the records store {}", path.display()))?;
        if !applied.is_empty() {
            tracing::info!(store = %path.display(), versions = ?applied, "applied schema migrations");
        }
        // SQLite made its -wal and -shm files with the database's mode; a
        // loose one left from before is tightened now.
        make_private(path)?;
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

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A connection from the pool; it goes back when dropped.
    pub fn connection(&self) -> anyhow::Result<PooledConnection> {
        let reused = self
            .inner
            .idle
            .lock()
            .map(|mut idle| idle.pop())
            .unwrap_or(None);
        let conn = match reused {
            Some(conn) => conn,
            None => self.open_connection()?,
        };
        Ok(PooledConnection {
            conn: Some(conn),
            store: self.inner.clone(),
        })
    }

    fn open_connection(&self) -> anyhow::Result<Connection> {
        let path = &self.inner.path;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the records store {}", path.display()))?;
        conn.busy_handler(Some(wait_for_lock))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(conn)
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

/// A connection borrowed from the store's pool.
pub struct PooledConnection {
    conn: Option<Connection>,
    store: Arc<Inner>,
}

impl Deref for PooledConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // A connection left inside a transaction (a bug elsewhere) is closed,
        // never reused, so the next call cannot inherit its state.
        if !conn.is_autocommit() {
            return;
        }
        if let Ok(mut idle) = self.store.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
    }
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

    #[test]
    fn the_database_is_private_to_the_host() {
        let (store, _scratch) = RecordStore::scratch().expect("store");
        let path = store.path().to_path_buf();
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
        let path = store.path().to_path_buf();
        drop(store);
        // The tests run as root; 65534 is `nobody`.
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).expect("chown");
        let error = format!("{:#}", RecordStore::open(&path).err().expect("refused"));
        assert!(error.contains("belongs to user id 65534"), "{error}");
    }
}
