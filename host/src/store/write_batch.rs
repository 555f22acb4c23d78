//! Write calls batched into one transaction (SQLite). SQLite has one write
//! lock per database, so write calls run one at a time whatever happens;
//! without batching, each took the lock, committed and handed the lock to
//! the next through a wake-up. With it, the first write call to arrive
//! begins a transaction; each call that arrives while it runs waits its
//! turn, is handed the open transaction, runs inside it under a savepoint
//! of its own (released if the call keeps its changes, rolled back if not),
//! and hands it on. The last call of a batch commits it, once for all, and
//! every call in it is told whether its changes committed. No call is
//! answered before then, so nothing acknowledged is lost on kill -9.
//!
//! A batch holds at most [`MAX_CALLS`] calls and takes new ones for at most
//! [`MAX_OPEN`], so writers outside it (audit entries of reads, checkpoints)
//! still get the lock between batches, and its first call is not kept
//! waiting long by slow calls after it. A call whose thread ends without
//! ending its share (a panic) fails its batch, and the calls waiting behind
//! it begin the next.
//!
//! Measured in `bench/load` (see `docs/benchmarks.md`): bookings that
//! succeed, under 16 connections.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::store::database::{DbError, PooledConnection};
use crate::store::group_commit::Failed;

/// The most calls one batch holds before it commits.
pub const MAX_CALLS: usize = 32;

/// How long a batch takes new calls: after this it commits when its call
/// ends, so its first call is not kept waiting by slow calls after it (a
/// batch of quick calls fills up first).
pub const MAX_OPEN: Duration = Duration::from_millis(10);

/// How long a call waits for its turn before it gives up (as long as a
/// writer waits for SQLite's lock).
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The write calls of one SQLite database waiting to share a transaction.
/// Cheap to clone.
#[derive(Clone)]
pub struct WriteBatches {
    queue: Arc<Mutex<Queue>>,
    patience: Duration,
}

impl Default for WriteBatches {
    fn default() -> Self {
        WriteBatches::with_patience(PATIENCE)
    }
}

#[derive(Default)]
struct Queue {
    /// Whether a batch is under way (its transaction open, or being
    /// begun or committed).
    open: bool,
    /// Calls waiting for the open batch, in the order they arrived, each
    /// with its number.
    waiting: VecDeque<(u64, SyncSender<Handoff>)>,
    /// The next waiting call's number.
    next: u64,
}

/// What a waiting call is handed.
enum Handoff {
    /// The open batch: its transaction's connection and who is in it.
    Batch(Batch),
    /// The batch before ended: begin the next.
    Begin,
}

/// An open batch: its connection, inside the transaction, and the calls
/// whose changes it holds, each told when it commits.
struct Batch {
    conn: PooledConnection,
    kept: Vec<oneshot::Sender<Result<(), Failed>>>,
    calls: usize,
    begun: Instant,
}

/// One call's share of a batch, from [`WriteBatches::join`] until
/// [`Share::end`]. Dropped without ending (the call's thread panicked), it
/// fails the calls whose changes the batch held and lets the next call
/// begin a batch; the transaction is rolled back with the connection.
pub struct Share {
    batches: WriteBatches,
    kept: Vec<oneshot::Sender<Result<(), Failed>>>,
    calls: usize,
    begun: Instant,
    ended: bool,
}

impl WriteBatches {
    /// Batches whose calls wait at most `patience` for their turn.
    pub fn with_patience(patience: Duration) -> WriteBatches {
        WriteBatches {
            queue: Arc::default(),
            patience,
        }
    }

    /// Joins the open batch, or begins one: on return, `conn` is the
    /// batch's connection (the caller's own, if it began the batch; else
    /// the caller's goes back to the pool), inside the batch's transaction
    /// and a savepoint for this call. Blocks while the calls before it run,
    /// for at most the batches' patience.
    pub fn join(&self, conn: &mut PooledConnection) -> Result<Share, DbError> {
        let waiting = {
            let mut queue = self.queue.lock().map_err(|_| poisoned())?;
            if queue.open {
                let (handoff, waiting) = sync_channel(1);
                let number = queue.next;
                queue.next += 1;
                queue.waiting.push_back((number, handoff));
                Some((number, waiting))
            } else {
                queue.open = true;
                None
            }
        };
        let handed = match waiting {
            None => Handoff::Begin,
            Some((number, waiting)) => self.wait_turn(number, waiting)?,
        };
        let mut share = Share {
            batches: self.clone(),
            kept: Vec::new(),
            calls: 1,
            begun: Instant::now(),
            ended: false,
        };
        match handed {
            Handoff::Begin => {
                // On failure the share is dropped: the next call begins.
                conn.begin(true)?;
            }
            Handoff::Batch(batch) => {
                // The caller's own connection goes back to the pool.
                *conn = batch.conn;
                share.kept = batch.kept;
                share.calls = batch.calls + 1;
                share.begun = batch.begun;
            }
        }
        if let Err(e) = conn.batch("SAVEPOINT call") {
            share.fail(
                conn,
                &anyhow::anyhow!("cannot begin a write call's savepoint: {e}"),
            );
            return Err(e);
        }
        Ok(share)
    }
}

impl WriteBatches {
    /// Waits for a queued call's turn, for at most the patience; a call
    /// that gives up leaves the queue.
    fn wait_turn(&self, number: u64, waiting: Receiver<Handoff>) -> Result<Handoff, DbError> {
        match waiting.recv_timeout(self.patience) {
            Ok(handed) => return Ok(handed),
            // Its sender is dropped only with the queue's lock poisoned:
            // begin a batch of one's own, under SQLite's lock alone.
            Err(RecvTimeoutError::Disconnected) => return Ok(Handoff::Begin),
            Err(RecvTimeoutError::Timeout) => {}
        }
        {
            let mut queue = self.queue.lock().map_err(|_| poisoned())?;
            if let Some(at) = queue.waiting.iter().position(|(n, _)| *n == number) {
                queue.waiting.remove(at);
                return Err(DbError::Busy(self.patience));
            }
        }
        // Taken from the queue just now: the turn is on its way.
        Ok(waiting.recv().unwrap_or(Handoff::Begin))
    }
}

impl Share {
    /// How many calls the batch has held so far, this one included.
    pub fn calls(&self) -> usize {
        self.calls
    }

    /// Ends this call's part of the batch: its changes kept (`keep`) or
    /// undone; then hands the transaction to the next call waiting, or
    /// commits it. Returns once this call's kept changes have committed,
    /// or with why they were not. Takes the batch's connection back from
    /// the call; it goes back to the pool.
    pub fn end(mut self, conn: PooledConnection, keep: bool) -> Result<(), anyhow::Error> {
        self.end_with(conn, keep)
    }

    fn end_with(&mut self, conn: PooledConnection, keep: bool) -> Result<(), anyhow::Error> {
        self.ended = true;
        let ended = conn.batch(if keep {
            "RELEASE call"
        } else {
            "ROLLBACK TO call; RELEASE call"
        });
        if let Err(e) = ended {
            let error = anyhow::Error::new(e).context("cannot end a write call's savepoint");
            self.fail(&conn, &error);
            return Err(error);
        }
        let committed = keep.then(|| {
            let (done, committed) = oneshot::channel();
            self.kept.push(done);
            committed
        });
        // Hand the transaction on while calls wait and the batch has room.
        let mut batch = Batch {
            conn,
            kept: std::mem::take(&mut self.kept),
            calls: self.calls,
            begun: self.begun,
        };
        let mut closed = false;
        loop {
            let next = {
                let Ok(mut queue) = self.batches.queue.lock() else {
                    break;
                };
                if batch.calls >= MAX_CALLS || batch.begun.elapsed() >= MAX_OPEN {
                    break;
                }
                match queue.waiting.pop_front() {
                    Some((_, next)) => next,
                    None => {
                        // Closed to newcomers: they begin the next batch
                        // once this one has committed (they wait for the
                        // write lock meanwhile).
                        queue.open = false;
                        closed = true;
                        break;
                    }
                }
            };
            match next.send(Handoff::Batch(batch)) {
                Ok(()) => return wait(committed),
                // That call is gone: the next one, or commit.
                Err(std::sync::mpsc::SendError(Handoff::Batch(back))) => batch = back,
                Err(std::sync::mpsc::SendError(Handoff::Begin)) => unreachable!("a batch was sent"),
            }
        }
        // Commit, once for every call in the batch.
        let result = batch.conn.commit().map_err(|e| {
            let error = anyhow::Error::new(e).context("cannot commit the batch of write calls");
            let failed = Failed::of(&error);
            // A failed COMMIT leaves the transaction open.
            let _ = batch.conn.rollback();
            failed
        });
        drop(batch.conn);
        for kept in batch.kept {
            let _ = kept.send(result.clone());
        }
        if !closed {
            self.batches.pass_begin();
        }
        wait(committed)
    }

    /// The batch's transaction is in doubt: it is rolled back, every call
    /// whose changes it held fails with `error`, and the next call waiting
    /// begins a batch.
    fn fail(&mut self, conn: &PooledConnection, error: &anyhow::Error) {
        self.ended = true;
        let _ = conn.rollback();
        let failed = Failed::of(error);
        for kept in self.kept.drain(..) {
            let _ = kept.send(Err(failed.clone()));
        }
        self.batches.pass_begin();
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let failed = Failed::of(&anyhow::anyhow!(
            "a write call ended without finishing its part of the batch: its batch was rolled back"
        ));
        for kept in self.kept.drain(..) {
            let _ = kept.send(Err(failed.clone()));
        }
        self.batches.pass_begin();
    }
}

impl WriteBatches {
    /// After a batch that was still open has ended (committed or failed):
    /// the first call waiting begins the next, else the next to arrive
    /// will.
    fn pass_begin(&self) {
        let Ok(mut queue) = self.queue.lock() else {
            return;
        };
        while let Some((_, next)) = queue.waiting.pop_front() {
            if next.send(Handoff::Begin).is_ok() {
                return;
            }
        }
        queue.open = false;
    }
}

/// Waits until the changes a call kept have committed; a call that kept
/// none is done.
fn wait(committed: Option<oneshot::Receiver<Result<(), Failed>>>) -> Result<(), anyhow::Error> {
    let Some(committed) = committed else {
        return Ok(());
    };
    committed
        .blocking_recv()
        .map_err(|_| anyhow::anyhow!("the batch of write calls ended before it committed"))?
        .map_err(Failed::into_error)
}

fn poisoned() -> DbError {
    DbError::Type("the queue of write calls failed".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::records::{RecordStore, ScratchFile};
    use std::time::Duration;

    fn store() -> (RecordStore, ScratchFile) {
        let (store, file) = RecordStore::scratch().expect("store");
        store
            .connection()
            .expect("connection")
            .batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY); \
                 CREATE TABLE child (n INTEGER, p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED); \
                 INSERT INTO parent VALUES (1);",
            )
            .expect("tables");
        (store, file)
    }

    /// The rows committed, by `n`.
    fn committed(store: &RecordStore) -> Vec<i64> {
        store
            .connection()
            .expect("connection")
            .query("SELECT n FROM child ORDER BY n", &[])
            .expect("rows")
            .iter()
            .map(|row| row.get(0).expect("n"))
            .collect()
    }

    /// One write call: joins, inserts `n` (with parent `p`), waits `hold`,
    /// ends keeping its change or not. Returns how many calls its batch
    /// held when it joined, and whether its change committed.
    fn write(
        batches: &WriteBatches,
        store: &RecordStore,
        n: i64,
        p: i64,
        hold: Duration,
        keep: bool,
    ) -> (usize, Result<(), anyhow::Error>) {
        let mut conn = store.connection().expect("connection");
        let share = batches.join(&mut conn).expect("joined");
        conn.execute("INSERT INTO child (n, p) VALUES (?1, ?2)", &[&n, &p])
            .expect("insert");
        std::thread::sleep(hold);
        (share.calls(), share.end(conn, keep))
    }

    /// Waits until `count` calls wait for the open batch.
    fn until_waiting(batches: &WriteBatches, count: usize) {
        for _ in 0..10_000 {
            if batches.queue.lock().expect("queue").waiting.len() >= count {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("{count} calls never queued");
    }

    /// A first call that begins a batch, writes `n` = 1, keeps the batch
    /// until `until` returns, then ends keeping its change. Returns once it
    /// has begun the batch.
    fn holding<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        batches: &'scope WriteBatches,
        store: &'scope RecordStore,
        until: impl FnOnce() + Send + 'scope,
    ) -> std::thread::ScopedJoinHandle<'scope, Result<(), anyhow::Error>> {
        let (joined, first_joined) = std::sync::mpsc::channel();
        let first = scope.spawn(move || {
            let mut conn = store.connection().expect("connection");
            let share = batches.join(&mut conn).expect("joined");
            assert_eq!(share.calls(), 1, "the first call begins the batch");
            conn.execute("INSERT INTO child (n, p) VALUES (1, 1)", &[])
                .expect("insert");
            joined.send(()).expect("told");
            until();
            share.end(conn, true)
        });
        first_joined.recv().expect("first joined");
        first
    }

    #[test]
    fn concurrent_write_calls_share_transactions_and_every_kept_change_commits() {
        let (store, _file) = store();
        let batches = WriteBatches::default();
        let results: Vec<(usize, Result<(), anyhow::Error>)> = std::thread::scope(|scope| {
            let calls: Vec<_> = (0..16)
                .map(|n| {
                    let (batches, store) = (&batches, &store);
                    scope.spawn(move || {
                        write(batches, store, n, 1, Duration::from_millis(2), n % 4 != 3)
                    })
                })
                .collect();
            calls.into_iter().map(|c| c.join().expect("call")).collect()
        });
        for (n, (_, result)) in results.iter().enumerate() {
            assert!(result.is_ok(), "call {n}: {result:?}");
        }
        // Every call that kept its change has it committed, and no other.
        let kept: Vec<i64> = (0..16).filter(|n| n % 4 != 3).collect();
        assert_eq!(committed(&store), kept);
        let most = results.iter().map(|(calls, _)| *calls).max();
        assert!(
            most > Some(1),
            "no call joined another's transaction: {most:?}"
        );
        assert!(
            !batches.queue.lock().expect("queue").open,
            "no batch left open"
        );
    }

    #[test]
    fn a_failed_commit_fails_every_call_of_its_batch_and_the_next_batch_commits() {
        let (store, _file) = store();
        let batches = WriteBatches::default();
        std::thread::scope(|scope| {
            let (batches, store) = (&batches, &store);
            // The first call holds the batch until two more wait; one of
            // those breaks a deferred constraint, so the COMMIT fails.
            let first = holding(scope, batches, store, move || until_waiting(batches, 2));
            let broken = scope.spawn(move || write(batches, store, 2, 99, Duration::ZERO, true));
            let fine = scope.spawn(move || write(batches, store, 3, 1, Duration::ZERO, true));
            let first = first.join().expect("first").expect_err("its batch failed");
            assert!(
                format!("{first:#}").contains("FOREIGN KEY"),
                "the reason: {first:#}"
            );
            for call in [broken, fine] {
                let (calls, result) = call.join().expect("call");
                assert!(calls > 1, "joined the first call's batch");
                let error = result.expect_err("its batch failed");
                assert!(format!("{error:#}").contains("cannot commit"), "{error:#}");
            }
        });
        assert_eq!(committed(&store), Vec::<i64>::new());
        // The failure does not stick.
        let (_, result) = write(&batches, &store, 4, 1, Duration::ZERO, true);
        result.expect("committed");
        assert_eq!(committed(&store), vec![4]);
    }

    #[test]
    fn a_call_that_never_ends_its_share_fails_its_batch_and_the_next_call_begins() {
        let (store, _file) = store();
        let batches = WriteBatches::default();
        std::thread::scope(|scope| {
            let (batches, store) = (&batches, &store);
            let first = holding(scope, batches, store, move || until_waiting(batches, 1));
            // Handed the batch, this call's thread "panics" once a third
            // call waits: its share and connection are dropped unended.
            let (joined, lost_joined) = std::sync::mpsc::channel();
            let lost = scope.spawn(move || {
                let mut conn = store.connection().expect("connection");
                let share = batches.join(&mut conn).expect("joined");
                let calls = share.calls();
                joined.send(()).expect("told");
                until_waiting(batches, 1);
                drop(conn);
                drop(share);
                calls
            });
            lost_joined.recv().expect("lost joined");
            let third = scope.spawn(move || write(batches, store, 3, 1, Duration::ZERO, true));
            let error = first
                .join()
                .expect("first")
                .expect_err("its batch was lost");
            assert!(
                format!("{error:#}").contains("without finishing"),
                "{error:#}"
            );
            assert_eq!(
                lost.join().expect("lost"),
                2,
                "the second joined the first's batch"
            );
            // The third began a batch of its own, and committed.
            let (calls, result) = third.join().expect("third");
            result.expect("committed");
            assert_eq!(calls, 1);
        });
        assert_eq!(committed(&store), vec![3]);
        assert!(
            !batches.queue.lock().expect("queue").open,
            "no batch left open"
        );
    }

    #[test]
    fn a_call_that_waits_past_its_patience_gives_up_and_leaves_the_queue() {
        let (store, _file) = store();
        let batches = WriteBatches::with_patience(Duration::from_millis(50));
        std::thread::scope(|scope| {
            let (batches, store) = (&batches, &store);
            let (release, released) = std::sync::mpsc::channel::<()>();
            let first = holding(scope, batches, store, move || {
                released.recv().expect("released")
            });
            let mut conn = store.connection().expect("connection");
            let error = batches.join(&mut conn).err().expect("gave up");
            assert!(
                error.to_string().contains("try again"),
                "says what to do: {error}"
            );
            assert!(
                batches.queue.lock().expect("queue").waiting.is_empty(),
                "left the queue"
            );
            release.send(()).expect("release");
            first.join().expect("first").expect("committed alone");
        });
        let (calls, result) = write(&batches, &store, 2, 1, Duration::ZERO, true);
        result.expect("committed");
        assert_eq!(calls, 1);
        assert_eq!(committed(&store), vec![1, 2]);
    }

    #[test]
    fn a_batch_open_past_its_time_commits_and_the_next_call_begins_another() {
        let (store, _file) = store();
        let batches = WriteBatches::default();
        std::thread::scope(|scope| {
            let (batches, store) = (&batches, &store);
            let first = holding(scope, batches, store, move || {
                until_waiting(batches, 1);
                std::thread::sleep(MAX_OPEN + Duration::from_millis(5));
            });
            let (calls, result) = write(batches, store, 2, 1, Duration::ZERO, true);
            result.expect("committed");
            assert_eq!(calls, 1, "not handed a batch open for {MAX_OPEN:?}");
            first.join().expect("first").expect("committed");
        });
        assert_eq!(committed(&store), vec![1, 2]);
    }
}
