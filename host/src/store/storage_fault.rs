//! When the store cannot be written: the disk is full, the data directory is
//! read-only, or the device fails. Such an error is the operator's to fix,
//! not the client's and not a bug, so it is recognised wherever it surfaces
//! (a rusqlite error or an I/O error anywhere in an error's chain) and
//! answered with what happened and what to do; nothing is half-written,
//! because the transaction that met it is rolled back.

/// Why the store could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// No space left on the device (or the quota is used up).
    Full,
    /// The data directory or the database is read-only.
    ReadOnly,
    /// The device failed a read or a write.
    Io,
}

impl StorageFault {
    /// The fault behind an error, if any link of its chain is one.
    pub fn of(error: &anyhow::Error) -> Option<StorageFault> {
        error.chain().find_map(|cause| {
            if let Some(fault) = cause.downcast_ref::<StorageFault>() {
                return Some(*fault);
            }
            if let Some(e) = cause.downcast_ref::<rusqlite::Error>() {
                return Self::of_sqlite(e);
            }
            if let Some(e) = cause.downcast_ref::<crate::store::database::DbError>() {
                return match e {
                    crate::store::database::DbError::Sqlite(e) => Self::of_sqlite(e),
                    crate::store::database::DbError::Postgres(e) => Self::of_postgres(e),
                    _ => None,
                };
            }
            if let Some(e) = cause.downcast_ref::<postgres::Error>() {
                return Self::of_postgres(e);
            }
            cause.downcast_ref::<std::io::Error>().and_then(Self::of_io)
        })
    }

    /// The fault a SQLite error reports, if it is one.
    pub fn of_sqlite(error: &rusqlite::Error) -> Option<StorageFault> {
        use rusqlite::ErrorCode;
        match error.sqlite_error_code()? {
            ErrorCode::DiskFull => Some(StorageFault::Full),
            ErrorCode::ReadOnly => Some(StorageFault::ReadOnly),
            ErrorCode::SystemIoFailure | ErrorCode::CannotOpen => Some(StorageFault::Io),
            _ => None,
        }
    }

    /// What a PostgreSQL error says of the database server's storage: a
    /// full disk (`53100`), a read-only server (`25006`, a standby), an I/O
    /// error (`58030`), or a lost connection (the server went away).
    pub fn of_postgres(error: &postgres::Error) -> Option<StorageFault> {
        use postgres::error::SqlState;
        if error.is_closed() {
            return Some(StorageFault::Io);
        }
        match error.code()? {
            c if *c == SqlState::DISK_FULL => Some(StorageFault::Full),
            c if *c == SqlState::READ_ONLY_SQL_TRANSACTION => Some(StorageFault::ReadOnly),
            c if *c == SqlState::IO_ERROR => Some(StorageFault::Io),
            _ => None,
        }
    }

    /// The fault an I/O error reports, if it is one.
    pub fn of_io(error: &std::io::Error) -> Option<StorageFault> {
        match error.raw_os_error()? {
            libc::ENOSPC | libc::EDQUOT | libc::EFBIG => Some(StorageFault::Full),
            libc::EROFS => Some(StorageFault::ReadOnly),
            libc::EIO => Some(StorageFault::Io),
            _ => None,
        }
    }

    /// Its name in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageFault::Full => "full",
            StorageFault::ReadOnly => "read-only",
            StorageFault::Io => "io",
        }
    }

    /// What happened and what to do, for the client and the log.
    pub fn explain(self) -> &'static str {
        match self {
            StorageFault::Full => {
                "the host's storage is full, so nothing was changed: try again later; \
                 the host's operator must free space in its data directory"
            }
            StorageFault::ReadOnly => {
                "the host's storage is read-only, so nothing was changed: try again later; \
                 the host's operator must make its data directory writable"
            }
            StorageFault::Io => {
                "the host's storage failed a read or a write, so nothing was changed: try \
                 again later; the host's operator must check its data directory's device"
            }
        }
    }
}

impl std::fmt::Display for StorageFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.explain())
    }
}

/// A fault carried on its own, where the error that showed it cannot be
/// (it was shared among several requests, as in a group commit).
impl std::error::Error for StorageFault {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_full_disk_anywhere_in_the_chain() {
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let error = anyhow::Error::new(io).context("cannot write the anchor");
        assert_eq!(StorageFault::of(&error), Some(StorageFault::Full));
        let sqlite = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
            None,
        );
        let error = anyhow::Error::new(sqlite).context("cannot book");
        assert_eq!(StorageFault::of(&error), Some(StorageFault::ReadOnly));
    }

    #[test]
    fn other_errors_are_no_storage_fault() {
        let error = anyhow::anyhow!("the slot is taken");
        assert_eq!(StorageFault::of(&error), None);
        let constraint = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            None,
        );
        assert_eq!(StorageFault::of_sqlite(&constraint), None);
    }

    /// On the PostgreSQL server every development and CI machine runs
    /// (`PATCHBAY_TEST_POSTGRES` names another): a write refused as
    /// read-only (as a standby refuses it) is a read-only store, a broken
    /// constraint is none. Nothing is created: both statements fail.
    #[test]
    fn recognises_postgres_storage_faults() {
        let url = std::env::var("PATCHBAY_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .expect("PostgreSQL at 127.0.0.1:5432 (user postgres, database test)");
        let read_only = client
            .batch_execute("BEGIN READ ONLY; CREATE TABLE never_made (a INTEGER)")
            .expect_err("refused in a read-only transaction");
        let error = anyhow::Error::new(crate::store::database::DbError::from(read_only))
            .context("cannot book");
        assert_eq!(StorageFault::of(&error), Some(StorageFault::ReadOnly));
        client.batch_execute("ROLLBACK").expect("rollback");
        let division = client
            .batch_execute("SELECT 1 / 0")
            .expect_err("division by zero");
        assert_eq!(StorageFault::of_postgres(&division), None);
    }
}
