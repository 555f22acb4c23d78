//! One writer at a time into a SQLite database, queued in this process.
//! SQLite has one write lock per database; without a queue, writers that
//! find it taken sleep and retry (the busy handler), and under load most of
//! the CPU goes to waking threads that find it taken again. With the gate, a
//! writer waits on a condition variable and is woken when the one before it
//! ends. The gate is an optimisation only: a writer that waits longer than
//! its patience goes on without it, back to SQLite's own lock, so a writer
//! that waits on another (which it never should) is slowed, never stuck.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The queue of one database's writers in this process.
#[derive(Debug, Default)]
pub struct WriterGate {
    taken: Mutex<bool>,
    freed: Condvar,
    /// Writers that came to the gate, with a turn or without.
    writers: AtomicU64,
}

/// A writer's turn: the gate opens for the next writer when it is dropped.
#[derive(Debug)]
pub struct Turn {
    gate: Arc<WriterGate>,
}

impl WriterGate {
    /// Waits for this writer's turn, for at most `patience`; `None` if it
    /// did not come (the writer goes on under SQLite's lock alone).
    pub fn enter(gate: &Arc<WriterGate>, patience: Duration) -> Option<Turn> {
        gate.writers.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + patience;
        let mut taken = gate.taken.lock().ok()?;
        while *taken {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            taken = gate.freed.wait_timeout(taken, left).ok()?.0;
        }
        *taken = true;
        Some(Turn { gate: gate.clone() })
    }
}

impl WriterGate {
    /// How many writers have come to the gate so far (the checkpointer
    /// looks for new ones).
    pub fn writers(&self) -> u64 {
        self.writers.load(Ordering::Relaxed)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Ok(mut taken) = self.gate.taken.lock() {
            *taken = false;
        }
        self.gate.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn writers_take_turns_one_at_a_time() {
        let gate = Arc::new(WriterGate::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let turn = WriterGate::enter(&gate, Duration::from_secs(10))
                            .expect("a turn within 10 s");
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(turn);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("writer");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "never two writers at once");
    }

    #[test]
    fn a_writer_that_waits_too_long_goes_on_without_a_turn() {
        let gate = Arc::new(WriterGate::default());
        let held = WriterGate::enter(&gate, Duration::from_millis(1)).expect("free gate");
        let started = Instant::now();
        assert!(WriterGate::enter(&gate, Duration::from_millis(30)).is_none());
        assert!(started.elapsed() >= Duration::from_millis(30));
        drop(held);
        assert!(WriterGate::enter(&gate, Duration::from_millis(1)).is_some());
    }
}
