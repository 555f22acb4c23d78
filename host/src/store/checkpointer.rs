//! SQLite's checkpoints (copying the write-ahead log into the database
//! file), run in the background by a thread of their own.
//!
//! Left to itself, SQLite runs a checkpoint inside the commit that takes
//! the log past 1,000 pages, while that writer still holds its turn at the
//! write lock (see `writer_gate`): every writer behind it waits for the copy
//! and its fsyncs. Under booking load that was one commit in a hundred or
//! so. Here a thread checkpoints a few times a second while writers carry
//! on: a PASSIVE checkpoint waits for no writer or reader, and none waits
//! for it. SQLite's own checkpoint stays as a backstop at a larger size
//! ([`BACKSTOP_PAGES`]), should the thread fall far behind.
//!
//! Nothing about what is kept changes: a commit is in the log, on disk,
//! before it is answered, whichever checkpoint later copies it.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::store::writer_gate::WriterGate;

/// The log's size, in pages, at which a committing writer checkpoints
/// itself after all (SQLite's `wal_autocheckpoint`; its default is 1,000).
pub const BACKSTOP_PAGES: u32 = 10_000;

/// How often the thread looks for new commits to copy.
const EVERY: Duration = Duration::from_millis(100);

/// The background checkpoints of one SQLite database; they stop when this
/// is dropped.
pub struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path` whenever its writers'
    /// `gate` has let a writer through since the last time.
    pub fn start(path: &Path, gate: Arc<WriterGate>) -> std::io::Result<Checkpointer> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let (stop, path) = (stop.clone(), path.to_path_buf());
            std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || run(&path, &gate, &stop))?
        };
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        if let Ok(mut stopped) = stopped.lock() {
            *stopped = true;
        }
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(path: &Path, gate: &WriterGate, stop: &(Mutex<bool>, Condvar)) {
    let (stopped, wake) = stop;
    // How many writers had come through the gate at the last checkpoint.
    let mut writers_copied = 0;
    let mut conn: Option<rusqlite::Connection> = None;
    loop {
        {
            let Ok(guard) = stopped.lock() else { return };
            let Ok((guard, _)) = wake.wait_timeout_while(guard, EVERY, |stopped| !*stopped) else {
                return;
            };
            if *guard {
                return;
            }
        }
        let now = gate.writers();
        if now == writers_copied {
            continue;
        }
        if conn.is_none() {
            match rusqlite::Connection::open(path) {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open the database to checkpoint it");
                    continue;
                }
            }
        }
        let Some(c) = &conn else { continue };
        match c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        }) {
            Ok((in_log, copied_pages)) => {
                writers_copied = now;
                tracing::trace!(in_log, copied_pages, "checkpoint");
            }
            // A full disk, say: said, and tried again at the next commit.
            Err(e) => tracing::warn!(error = %e, "a background checkpoint failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The database file's size: what checkpoints have copied into it.
    fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    fn opened(path: &Path) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(path).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)
            .expect("backstop");
        conn
    }

    fn write_pages(conn: &rusqlite::Connection, rows: usize) {
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (x BLOB)")
            .expect("table");
        for _ in 0..rows {
            conn.execute("INSERT INTO t VALUES (zeroblob(4000))", [])
                .expect("insert");
        }
    }

    #[test]
    fn commits_reach_the_database_file_without_a_writer_copying_them() {
        let dir = std::env::temp_dir().join(format!("checkpoint-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("db.sqlite");
        let conn = opened(&path);
        write_pages(&conn, 200);
        let before = file_len(&path);
        // The writer leaves its 200 pages in the log: under the backstop,
        // no commit copies them.
        assert!(
            before < 100 * 4096,
            "the writer checkpointed itself: {before} bytes"
        );

        let gate = Arc::new(WriterGate::default());
        let checkpointer = Checkpointer::start(&path, gate.clone()).expect("start");
        drop(WriterGate::enter(&gate, Duration::from_secs(1)));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while file_len(&path) < 200 * 4000 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            file_len(&path) >= 200 * 4000,
            "the checkpointer copied the log into the file: {} bytes",
            file_len(&path)
        );

        // With no writer through the gate, it copies nothing.
        write_pages(&conn, 100);
        std::thread::sleep(EVERY * 4);
        assert!(
            file_len(&path) < 300 * 4000,
            "copied with no writer through the gate"
        );
        drop(checkpointer);
        drop(conn);
        let _ = std::fs::remove_dir_all(dir);
    }
}
