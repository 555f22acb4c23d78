//! One store, two engines: a connection to SQLite (embedded, the default) or
//! to PostgreSQL (for several replicas over one database), and the pool they
//! come from.
//!
//! Statements are written once, in the SQL both engines accept (numbered
//! parameters `?1`, `?2`… which become PostgreSQL's `$1`, `$2`…; `ON
//! CONFLICT DO NOTHING`; `RETURNING`), and their values cross through
//! [`crate::store::sql_value`]. What differs between the engines (how a
//! write transaction takes its lock, how the audit chain is serialised,
//! which error is a unique violation or a full disk) is decided here and in
//! the migrations' SQL files, nowhere else. This is a connection, not an ORM:
//! callers write SQL.
//!
//! Why these crates: the host interfaces run on the blocking pool inside a
//! module call (wasmtime calls them synchronously), so the drivers are the
//! synchronous ones: `rusqlite` and `postgres` (the blocking face of
//! `tokio-postgres`). Both are used the same way, so one small pool serves
//! both: it keeps idle connections, bounds how many are open (PostgreSQL
//! counts its connections), and never reuses a connection left inside a
//! transaction or closed by the server.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::store::checkpointer::{BACKSTOP_PAGES, Checkpointer};
use crate::store::sql_value::{FromColumn, Param, SqlRef, SqlValue};
use crate::store::writer_gate::{Turn, WriterGate};

/// How long a SQLite writer waits for another writer's transaction to end
/// before it gives up with `SQLITE_BUSY`; also how long a caller waits for a
/// free PostgreSQL connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many prepared statements each SQLite connection keeps, parsed, for
/// the next time the same SQL runs. The host runs about a hundred distinct
/// statements; rusqlite keeps 16 by default, so once more than 16 were in
/// use, each one pushed out was parsed again when it came round. A
/// connection caches only the statements it has run.
const STATEMENT_CACHE: usize = 256;

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 32;

/// Connections open to PostgreSQL at most, per host: its default
/// `max_connections` is 100, and several replicas share it.
const MAX_POSTGRES_CONNECTIONS: usize = 24;

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, one file in the data directory.
    Sqlite,
    /// PostgreSQL, shared by any number of replicas.
    Postgres,
}

/// Where a store's database is.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user@host:port/db`).
    Postgres(String),
}

impl Location {
    /// Reads a `--database` value: a `postgres://` or `postgresql://` URL is
    /// PostgreSQL; anything else is refused, since SQLite is chosen by the
    /// data directory instead.
    pub fn parse_database(url: &str) -> Result<Location, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Location::Postgres(url.to_string()))
        } else {
            Err(DbError::Location(format!(
                "'{}' is not a PostgreSQL URL: give postgres://USER@HOST:PORT/DATABASE, \
                 or leave the database out to keep the records in SQLite in the data directory",
                redact(url)
            )))
        }
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        match self {
            Location::Sqlite(_) => Engine::Sqlite,
            Location::Postgres(_) => Engine::Postgres,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

/// A URL with any password replaced, fit for logs and errors.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// A failure of the store's database, from either engine.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite's error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's error.
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
    /// A column held a value of another type than the code reads.
    #[error("the store returned {0}")]
    Type(String),
    /// A `--database` value that is not a database's address.
    #[error("{0}")]
    Location(String),
    /// Every connection the pool may open is in use.
    #[error(
        "no connection to the database came free within {0:?}: the host is overloaded or the database is slow"
    )]
    Exhausted(Duration),
    /// A write waited its whole patience for its turn at the write lock.
    #[error(
        "the records could not be written: other writes held them for {0:?}; try again shortly"
    )]
    Busy(Duration),
}

impl DbError {
    /// Whether this is a unique or primary-key violation (on either engine).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            DbError::Postgres(e) => e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }
}

/// One row of a result, its columns read into owned values.
#[derive(Debug, Clone)]
pub struct Row(Vec<SqlValue>);

impl Row {
    /// Column `index`, converted to `T`.
    pub fn get<T: FromColumn>(&self, index: usize) -> Result<T, DbError> {
        let value = self
            .0
            .get(index)
            .ok_or_else(|| DbError::Type(format!("no column {index}")))?;
        T::from_column(value).map_err(|why| DbError::Type(format!("{why} in column {index}")))
    }
}

/// Statement parameters: `&[&a, &b]`.
pub type Params<'a> = &'a [&'a dyn Param];

/// A connection to the store's database, on either engine.
pub struct Connection {
    conn: Conn,
    /// SQLite: the queue of this process's writers, and this connection's
    /// turn while its write transaction is open.
    gate: Option<Arc<WriterGate>>,
    turn: RefCell<Option<Turn>>,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<PgConn>>),
}

struct PgConn {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
    /// Whether a transaction is open (PostgreSQL's client does not say).
    in_transaction: Cell<bool>,
}

impl PgConn {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&postgres_sql(sql))?;
        self.statements.insert(sql.to_string(), statement.clone());
        Ok(statement)
    }
}

/// Rewrites SQLite's numbered parameters (`?1`) as PostgreSQL's (`$1`),
/// leaving quoted text alone.
fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut next = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                out.push('$');
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    digits = next.to_string();
                }
                out.push_str(&digits);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Reads column `index` of a SQLite row.
fn sqlite_value(row: &rusqlite::Row, index: usize) -> rusqlite::Result<SqlValue> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(index)? {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    })
}

/// Runs one statement that returns no rows, prepared once per connection
/// and kept in its statement cache: a transaction's `BEGIN`, `COMMIT` and
/// `ROLLBACK` run on every module call, and parsing them again each time was
/// about 2% of the instructions of a trivial call (docs/benchmarks.md).
fn execute_cached(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Reads column `index` of a PostgreSQL row, by the column's type.
fn postgres_value(row: &postgres::Row, index: usize) -> Result<SqlValue, DbError> {
    use postgres::types::Type;
    let ty = row.columns()[index].type_().clone();
    let value = match ty {
        Type::INT2 => row
            .try_get::<_, Option<i16>>(index)?
            .map(|v| SqlValue::Integer(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(index)?
            .map(|v| SqlValue::Integer(v.into())),
        Type::INT8 => row.try_get::<_, Option<i64>>(index)?.map(SqlValue::Integer),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(index)?
            .map(|v| SqlValue::Integer(v.into())),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(index)?
            .map(|v| SqlValue::Real(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(index)?.map(SqlValue::Real),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.try_get::<_, Option<String>>(index)?.map(SqlValue::Text)
        }
        Type::BYTEA => row
            .try_get::<_, Option<Vec<u8>>>(index)?
            .map(SqlValue::Blob),
        other => {
            return Err(DbError::Type(format!(
                "column {index} has the type {other}, which the store does not read"
            )));
        }
    };
    Ok(value.unwrap_or(SqlValue::Null))
}

fn sqlite_params<'a>(params: Params<'a>) -> impl Iterator<Item = SqlRef<'a>> + 'a {
    params.iter().map(|p| p.sql_ref())
}

fn postgres_params<'a>(params: &'a [SqlRef<'a>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl Connection {
    fn open(location: &Location, gate: &Arc<WriterGate>) -> Result<Connection, DbError> {
        match location {
            Location::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path)?;
                conn.busy_handler(Some(wait_for_lock))?;
                conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                // The checkpoints are the checkpointer's, not a writer's.
                conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)?;
                conn.pragma_update(None, "foreign_keys", "ON")?;
                Ok(Connection {
                    conn: Conn::Sqlite(conn),
                    gate: Some(gate.clone()),
                    turn: RefCell::new(None),
                })
            }
            Location::Postgres(url) => {
                let client = off_async(|| postgres::Client::connect(url, postgres::NoTls))?;
                Ok(Connection {
                    conn: Conn::Postgres(Box::new(RefCell::new(PgConn {
                        client,
                        statements: HashMap::new(),
                        in_transaction: Cell::new(false),
                    }))),
                    gate: None,
                    turn: RefCell::new(None),
                })
            }
        }
    }

    /// The engine behind this connection.
    pub fn engine(&self) -> Engine {
        match self.conn {
            Conn::Sqlite(_) => Engine::Sqlite,
            Conn::Postgres(_) => Engine::Postgres,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: Params) -> Result<usize, DbError> {
        match &self.conn {
            Conn::Sqlite(conn) => Ok(conn
                .prepare_cached(sql)?
                .execute(rusqlite::params_from_iter(sqlite_params(params)))?),
            Conn::Postgres(pg) => off_async(|| {
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql)?;
                let values: Vec<SqlRef> = params.iter().map(|p| p.sql_ref()).collect();
                let changed = pg.client.execute(&statement, &postgres_params(&values))?;
                Ok(usize::try_from(changed).unwrap_or(usize::MAX))
            }),
        }
    }

    /// Runs one statement that may break a constraint (a unique index),
    /// leaving the transaction usable if it does: PostgreSQL aborts a whole
    /// transaction on any failed statement, so there the statement runs
    /// under a savepoint; SQLite undoes only the statement itself.
    pub fn execute_guarded(&self, sql: &str, params: Params) -> Result<usize, DbError> {
        if self.engine() == Engine::Sqlite || self.is_autocommit() {
            return self.execute(sql, params);
        }
        self.batch("SAVEPOINT guarded")?;
        match self.execute(sql, params) {
            Ok(changed) => {
                self.batch("RELEASE guarded")?;
                Ok(changed)
            }
            Err(e) => {
                self.batch("ROLLBACK TO guarded; RELEASE guarded")?;
                Err(e)
            }
        }
    }

    /// Runs a query and reads its rows, at most `max` of them: the rest are
    /// never read (not a `LIMIT`: SQLite's sorter for `ORDER BY … LIMIT`
    /// costs more than reading a few rows and stopping).
    pub fn query_at_most(
        &self,
        sql: &str,
        params: Params,
        max: usize,
    ) -> Result<Vec<Row>, DbError> {
        match &self.conn {
            Conn::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let columns = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(sqlite_params(params)))?;
                let mut out = Vec::new();
                while out.len() < max {
                    let Some(row) = rows.next()? else { break };
                    out.push(Row((0..columns)
                        .map(|i| sqlite_value(row, i))
                        .collect::<rusqlite::Result<_>>()?));
                }
                Ok(out)
            }
            Conn::Postgres(pg) => off_async(|| {
                use postgres::fallible_iterator::FallibleIterator as _;
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql)?;
                let values: Vec<SqlRef> = params.iter().map(|p| p.sql_ref()).collect();
                let mut rows = pg.client.query_raw(&statement, postgres_params(&values))?;
                let mut out = Vec::new();
                while out.len() < max {
                    let Some(row) = rows.next()? else { break };
                    out.push(Row((0..row.len())
                        .map(|i| postgres_value(&row, i))
                        .collect::<Result<_, _>>()?));
                }
                Ok(out)
            }),
        }
    }

    /// Runs a query and reads all its rows.
    pub fn query(&self, sql: &str, params: Params) -> Result<Vec<Row>, DbError> {
        self.query_at_most(sql, params, usize::MAX)
    }

    /// Runs a query and reads its first row, if any.
    pub fn query_opt(&self, sql: &str, params: Params) -> Result<Option<Row>, DbError> {
        Ok(self.query_at_most(sql, params, 1)?.pop())
    }

    /// Runs a query that returns one row.
    pub fn query_one(&self, sql: &str, params: Params) -> Result<Row, DbError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::Type(format!("no row from: {sql}")))
    }

    /// Runs statements without parameters (savepoints and the like).
    pub fn batch(&self, sql: &str) -> Result<(), DbError> {
        match &self.conn {
            Conn::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Conn::Postgres(pg) => off_async(|| Ok(pg.borrow_mut().client.batch_execute(sql)?)),
        }
    }

    /// Begins a transaction. A write transaction on SQLite takes the
    /// database's write lock now (`BEGIN IMMEDIATE`), so it never fails
    /// half-way for a lock; PostgreSQL locks rows as they are written.
    pub fn begin(&self, write: bool) -> Result<(), DbError> {
        match &self.conn {
            Conn::Sqlite(conn) => {
                // Writers queue in the process first (see `writer_gate`),
                // then take SQLite's lock, which is then almost always free.
                if write && let Some(gate) = &self.gate {
                    *self.turn.borrow_mut() = WriterGate::enter(gate, BUSY_TIMEOUT);
                }
                let begun = execute_cached(
                    conn,
                    if write {
                        "BEGIN IMMEDIATE"
                    } else {
                        "BEGIN DEFERRED"
                    },
                );
                if begun.is_err() {
                    self.turn.borrow_mut().take();
                }
                Ok(begun?)
            }
            Conn::Postgres(pg) => off_async(|| {
                let mut pg = pg.borrow_mut();
                pg.client.batch_execute("BEGIN")?;
                pg.in_transaction.set(true);
                Ok(())
            }),
        }
    }

    /// Commits the open transaction.
    pub fn commit(&self) -> Result<(), DbError> {
        self.end("COMMIT")
    }

    /// Rolls back the open transaction.
    pub fn rollback(&self) -> Result<(), DbError> {
        self.end("ROLLBACK")
    }

    fn end(&self, sql: &str) -> Result<(), DbError> {
        match &self.conn {
            Conn::Sqlite(conn) => {
                let ended = execute_cached(conn, sql);
                // The next writer's turn once the lock is let go (a failed
                // COMMIT leaves the transaction open: the turn is kept
                // until its ROLLBACK).
                if conn.is_autocommit() {
                    self.turn.borrow_mut().take();
                }
                Ok(ended?)
            }
            Conn::Postgres(pg) => off_async(|| {
                let mut pg = pg.borrow_mut();
                let ended = pg.client.batch_execute(sql);
                // Ended either way: a failed COMMIT leaves no transaction.
                pg.in_transaction.set(false);
                Ok(ended?)
            }),
        }
    }

    /// Whether no transaction is open.
    pub fn is_autocommit(&self) -> bool {
        match &self.conn {
            Conn::Sqlite(conn) => conn.is_autocommit(),
            Conn::Postgres(pg) => !pg.borrow().in_transaction.get(),
        }
    }

    /// Serialises, until the transaction ends, every writer of `org`'s audit
    /// chain, so each appends after the last. SQLite's write transactions
    /// already hold the database's one write lock; PostgreSQL takes an
    /// advisory lock keyed by the organisation.
    pub fn lock_audit_chain(&self, org: &str) -> Result<(), DbError> {
        match self.conn {
            Conn::Sqlite(_) => Ok(()),
            Conn::Postgres(_) => {
                self.query(
                    "SELECT pg_advisory_xact_lock(hashtext('audit:' || ?1))::text",
                    &[&org],
                )?;
                Ok(())
            }
        }
    }

    /// Tells every replica on this store that a slot changed (PostgreSQL's
    /// `NOTIFY patchbay_slots, 'ORG/FUNCTION'`, delivered when the current
    /// transaction commits). SQLite has one host: nothing to tell.
    pub fn notify_slot_changed(&self, org: &str, function: &str) -> Result<(), DbError> {
        match self.conn {
            Conn::Sqlite(_) => Ok(()),
            Conn::Postgres(_) => {
                self.query(
                    "SELECT pg_notify('patchbay_slots', ?1)::text",
                    &[&format!("{org}/{function}")],
                )?;
                Ok(())
            }
        }
    }

    /// Serialises, until the transaction ends, every change to one slot's
    /// record, whichever replica makes it. SQLite's write transactions hold
    /// the database's one write lock already.
    pub fn lock_slot(&self, org: &str, function: &str) -> Result<(), DbError> {
        match self.conn {
            Conn::Sqlite(_) => Ok(()),
            Conn::Postgres(_) => {
                self.query(
                    "SELECT pg_advisory_xact_lock(hashtext('slot:' || ?1))::text",
                    &[&format!("{org}/{function}")],
                )?;
                Ok(())
            }
        }
    }

    /// Begins a transaction that rolls back when dropped unless committed.
    pub fn transaction(&self) -> Result<Transaction<'_>, DbError> {
        self.begin(true)?;
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }

    /// Begins a read-only snapshot: every query until it ends sees the
    /// store as it was at its first read, and it takes no write lock, so
    /// writers go on (SQLite in WAL mode; PostgreSQL `REPEATABLE READ READ
    /// ONLY`). For reading much at once consistently, such as an export.
    pub fn snapshot(&self) -> Result<Transaction<'_>, DbError> {
        match &self.conn {
            // In WAL mode, a read transaction is a snapshot already.
            Conn::Sqlite(_) => self.begin(false)?,
            Conn::Postgres(pg) => off_async(|| -> Result<(), DbError> {
                let mut pg = pg.borrow_mut();
                pg.client
                    .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
                pg.in_transaction.set(true);
                Ok(())
            })?,
        }
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }

    /// The SQLite connection, for the few things only SQLite has (schema
    /// migrations of the SQLite file); `None` on PostgreSQL.
    pub fn as_sqlite(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.conn {
            Conn::Sqlite(conn) => Some(conn),
            Conn::Postgres(_) => None,
        }
    }

    /// The PostgreSQL client, for the few things only PostgreSQL has
    /// (migrations under an advisory lock, LISTEN/NOTIFY); `None` on SQLite.
    pub fn with_postgres<R>(&self, f: impl FnOnce(&mut postgres::Client) -> R) -> Option<R> {
        match &self.conn {
            Conn::Sqlite(_) => None,
            Conn::Postgres(pg) => Some(off_async(|| f(&mut pg.borrow_mut().client))),
        }
    }

    fn reusable(&self) -> bool {
        match &self.conn {
            Conn::Sqlite(conn) => conn.is_autocommit(),
            Conn::Postgres(pg) => {
                let pg = pg.borrow();
                !pg.in_transaction.get() && !pg.client.is_closed()
            }
        }
    }
}

/// A transaction that rolls back when dropped unless [`Transaction::commit`]
/// was called.
pub struct Transaction<'c> {
    conn: &'c Connection,
    done: bool,
}

impl Transaction<'_> {
    /// Commits it.
    pub fn commit(mut self) -> Result<(), DbError> {
        self.done = true;
        self.conn.commit()
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Err(e) = self.conn.rollback()
        {
            tracing::warn!(error = %e, "cannot roll back a transaction");
        }
    }
}

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

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    location: Location,
    /// SQLite: this process's writers, one at a time.
    gate: Arc<WriterGate>,
    /// SQLite: the checkpoints, off the writers' turns (started with the
    /// first connection).
    checkpointer: Mutex<Option<Checkpointer>>,
    idle: Mutex<Vec<Connection>>,
    /// Connections open (idle or lent), for engines that bound them.
    open: Mutex<usize>,
    /// Callers waiting for a connection at the bound, so a connection
    /// coming back wakes someone only when someone waits: waking a condition
    /// variable is a system call even when no one waits, and a SQLite pool
    /// from [`Pool::new`], which has no bound, never has a waiter.
    waiting: AtomicUsize,
    freed: Condvar,
    max_open: usize,
}

impl Pool {
    /// A pool for the database at `location`; nothing is opened yet.
    pub fn new(location: Location) -> Pool {
        let max_open = match location.engine() {
            // SQLite connections are cheap and local: as many as callers.
            Engine::Sqlite => usize::MAX,
            Engine::Postgres => MAX_POSTGRES_CONNECTIONS,
        };
        Pool::bounded(location, max_open)
    }

    /// A pool that opens at most `max_open` connections at once.
    fn bounded(location: Location, max_open: usize) -> Pool {
        Pool {
            inner: Arc::new(PoolInner {
                location,
                gate: Arc::new(WriterGate::default()),
                checkpointer: Mutex::new(None),
                idle: Mutex::new(Vec::new()),
                open: Mutex::new(0),
                waiting: AtomicUsize::new(0),
                freed: Condvar::new(),
                max_open,
            }),
        }
    }

    /// Where the database is.
    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// A connection; it goes back to the pool when dropped. At the pool's
    /// bound, waits (up to [`BUSY_TIMEOUT`]) for one to come back.
    pub fn get(&self) -> Result<PooledConnection, DbError> {
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            let reused = self.inner.idle.lock().ok().and_then(|mut idle| idle.pop());
            if let Some(conn) = reused {
                return Ok(PooledConnection {
                    conn: Some(conn),
                    pool: self.inner.clone(),
                });
            }
            let Ok(mut open) = self.inner.open.lock() else {
                break;
            };
            if *open < self.inner.max_open {
                *open += 1;
                break;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(DbError::Exhausted(BUSY_TIMEOUT));
            }
            // Counted as waiting, then one more look: a connection that came
            // back before the count was seen is found here, and one that
            // comes back after it wakes this wait (`wake_one` takes `open`,
            // held until the wait begins). A slot freed by `release` is
            // counted under `open`, held here, so it is seen on the next
            // pass. The short step is a backstop.
            self.inner.waiting.fetch_add(1, Ordering::SeqCst);
            let came_back = self
                .inner
                .idle
                .lock()
                .map(|idle| !idle.is_empty())
                .unwrap_or(false);
            if !came_back {
                let _ = self
                    .inner
                    .freed
                    .wait_timeout(open, left.min(Duration::from_millis(10)));
            }
            self.inner.waiting.fetch_sub(1, Ordering::SeqCst);
        }
        match Connection::open(&self.inner.location, &self.inner.gate) {
            Ok(conn) => {
                self.inner.start_checkpoints();
                Ok(PooledConnection {
                    conn: Some(conn),
                    pool: self.inner.clone(),
                })
            }
            Err(e) => {
                self.inner.release();
                Err(e)
            }
        }
    }
}

/// Runs a blocking PostgreSQL operation. On a thread that drives async
/// tasks (a few host paths read the store there), the thread first becomes
/// a blocking one, as tokio requires of anything that blocks.
fn off_async<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Closes connections off the async threads: the blocking PostgreSQL
/// client closes by blocking on its own runtime, which tokio forbids on a
/// thread that drives async tasks (such as the server's, at shutdown).
fn discard(connections: Vec<Connection>) {
    let on_async_thread = tokio::runtime::Handle::try_current().is_ok()
        && connections.iter().any(|c| c.engine() == Engine::Postgres);
    if on_async_thread {
        std::thread::spawn(move || drop(connections));
    } else {
        drop(connections);
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        if let Ok(idle) = self.idle.get_mut() {
            discard(std::mem::take(idle));
        }
    }
}

impl PoolInner {
    /// SQLite: starts the background checkpoints, once (see
    /// `checkpointer`). If the thread cannot start, SQLite's own checkpoint
    /// at [`BACKSTOP_PAGES`] still bounds the log.
    fn start_checkpoints(&self) {
        let Location::Sqlite(path) = &self.location else {
            return;
        };
        let Ok(mut running) = self.checkpointer.lock() else {
            return;
        };
        if running.is_none() {
            match Checkpointer::start(path, self.gate.clone()) {
                Ok(started) => *running = Some(started),
                Err(e) => tracing::warn!(error = %e, "cannot start the checkpoint thread"),
            }
        }
    }

    fn release(&self) {
        if let Ok(mut open) = self.open.lock() {
            *open = open.saturating_sub(1);
        }
        self.wake_one();
    }

    /// Wakes one caller waiting for a connection, if any waits. `open` is
    /// taken for the wake-up so it cannot fall between a waiter's last look
    /// and its wait.
    fn wake_one(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            let _open = self.open.lock();
            self.freed.notify_one();
        }
    }
}

/// A connection borrowed from a [`Pool`].
pub struct PooledConnection {
    conn: Option<Connection>,
    pool: Arc<PoolInner>,
}

impl PooledConnection {
    /// The connection, mutably (for migrations).
    pub fn get_mut(&mut self) -> &mut Connection {
        // Only `drop` takes the connection out.
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Deref for PooledConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        // Only `drop` takes the connection out.
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // A connection left inside a transaction (a bug elsewhere) or closed
        // by the server is dropped, never reused, so the next caller cannot
        // inherit its state.
        if conn.reusable()
            && let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
            // Let go before waking: a waiter takes `open`, then `idle`.
            drop(idle);
            self.pool.wake_one();
            return;
        }
        discard(vec![conn]);
        self.pool.release();
    }
}

/// The SQLite file of a location, if it is one.
pub fn sqlite_path(location: &Location) -> Option<&Path> {
    match location {
        Location::Sqlite(path) => Some(path),
        Location::Postgres(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_postgres_ones_outside_quotes() {
        assert_eq!(
            postgres_sql("SELECT a FROM t WHERE x = ?1 AND y = ?12 AND z = '?3' AND w = ?"),
            "SELECT a FROM t WHERE x = $1 AND y = $12 AND z = '?3' AND w = $1"
        );
    }

    /// At the pool's bound, a caller waits, counted as waiting, and is
    /// handed the connection that comes back: no connection past the bound
    /// is opened, and the count is back at zero once it has it.
    #[test]
    fn a_caller_at_the_bound_gets_the_connection_that_comes_back() {
        let dir = std::env::temp_dir().join(format!("pool-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let pool = Pool::bounded(Location::Sqlite(dir.join("pool.db")), 1);
        let first = pool.get().expect("the one connection");
        let waiter = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.get().map(|conn| conn.reusable()))
        };
        let give_up = std::time::Instant::now() + Duration::from_secs(5);
        while pool.inner.waiting.load(Ordering::SeqCst) == 0 {
            assert!(
                !waiter.is_finished() && std::time::Instant::now() < give_up,
                "the caller at the bound never waited"
            );
            std::thread::yield_now();
        }
        drop(first);
        let handed = waiter.join().expect("the waiting thread");
        assert!(
            handed.expect("the connection that came back"),
            "a usable connection"
        );
        assert_eq!(pool.inner.waiting.load(Ordering::SeqCst), 0);
        assert_eq!(
            *pool.inner.open.lock().expect("open count"),
            1,
            "no connection past the bound"
        );
        drop(pool);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_database_url_keeps_its_password_out_of_messages() {
        let location = Location::parse_database("postgres://app:secret@db:5432/care").expect("url");
        assert_eq!(location.to_string(), "postgres://app:***@db:5432/care");
        let error = Location::parse_database("mysql://app:secret@db/care").expect_err("refused");
        assert!(
            error.to_string().contains("not a PostgreSQL URL"),
            "{error}"
        );
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}
