//! Group commit, for audit entries: the entries of concurrent requests are
//! written in one transaction rather than one each. The first request to
//! arrive while no write is under way leads: it takes every entry waiting,
//! writes them together, commits, and hands each request its entry; it goes
//! on while more arrive. The others wait for theirs. No request is answered
//! before its entry has committed, so nothing is lost on kill -9, and each
//! organisation's chain stays in order (entries are appended in the order
//! they arrived).
//!
//! Measured in `bench/load` (see `docs/benchmarks.md`): under concurrent
//! reads, each audited on its own, the write lock was taken once per
//! request.

use std::sync::{Arc, Condvar, Mutex};

use crate::store::storage_fault::StorageFault;

/// One item waiting to be written, and where its result goes.
struct Waiting<T, R> {
    item: T,
    done: Arc<Done<R>>,
}

/// A request's result, once its batch has committed (or failed).
struct Done<R> {
    result: Mutex<Option<Result<R, Failed>>>,
    ready: Condvar,
}

impl<R> Default for Done<R> {
    fn default() -> Self {
        Done {
            result: Mutex::new(None),
            ready: Condvar::new(),
        }
    }
}

/// Why a batch failed, for each request in it: the words, and whether the
/// store's disk was at fault (so the answer is 507 or 503, not 500).
#[derive(Debug, Clone)]
struct Failed {
    message: String,
    fault: Option<StorageFault>,
}

impl<R> Done<R> {
    fn set(&self, result: Result<R, Failed>) {
        if let Ok(mut slot) = self.result.lock() {
            *slot = Some(result);
        }
        self.ready.notify_all();
    }

    fn wait(&self) -> anyhow::Result<R> {
        let mut slot = self
            .result
            .lock()
            .map_err(|_| anyhow::anyhow!("the audit writer failed"))?;
        loop {
            if let Some(result) = slot.take() {
                return result.map_err(Failed::into_error);
            }
            slot = self
                .ready
                .wait(slot)
                .map_err(|_| anyhow::anyhow!("the audit writer failed"))?;
        }
    }
}

impl Failed {
    fn of(error: &anyhow::Error) -> Failed {
        Failed {
            message: format!("{error:#}"),
            fault: StorageFault::of(error),
        }
    }

    fn into_error(self) -> anyhow::Error {
        match self.fault {
            Some(fault) => anyhow::Error::new(fault).context(self.message),
            None => anyhow::anyhow!(self.message),
        }
    }
}

struct Queue<T, R> {
    waiting: Vec<Waiting<T, R>>,
    writing: bool,
}

/// The items (audit entries) waiting to be written together. Cheap to
/// clone.
pub struct GroupCommit<T, R> {
    queue: Arc<Mutex<Queue<T, R>>>,
}

impl<T, R> Clone for GroupCommit<T, R> {
    fn clone(&self) -> Self {
        GroupCommit {
            queue: self.queue.clone(),
        }
    }
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        GroupCommit {
            queue: Arc::new(Mutex::new(Queue {
                waiting: Vec::new(),
                writing: false,
            })),
        }
    }
}

impl<T: Clone, R> GroupCommit<T, R> {
    /// Writes one item with whatever others are waiting, and returns its
    /// result once committed. `write` writes a batch in one transaction and
    /// returns a result per item, in order, or fails them all.
    pub fn submit(
        &self,
        item: T,
        write: impl Fn(&[T]) -> anyhow::Result<Vec<R>>,
    ) -> anyhow::Result<R> {
        let done = Arc::new(Done::default());
        {
            let mut queue = self
                .queue
                .lock()
                .map_err(|_| anyhow::anyhow!("the audit queue failed"))?;
            queue.waiting.push(Waiting {
                item,
                done: done.clone(),
            });
            if queue.writing {
                drop(queue);
                return done.wait();
            }
            queue.writing = true;
        }
        // This request leads until no one is waiting.
        loop {
            let batch = {
                let Ok(mut queue) = self.queue.lock() else {
                    break;
                };
                if queue.waiting.is_empty() {
                    queue.writing = false;
                    break;
                }
                std::mem::take(&mut queue.waiting)
            };
            let items: Vec<T> = batch.iter().map(|w| w.item.clone()).collect();
            match write(&items) {
                Ok(results) if results.len() == batch.len() => {
                    for (waiting, result) in batch.iter().zip(results) {
                        waiting.done.set(Ok(result));
                    }
                }
                Ok(results) => {
                    let failed = Failed {
                        message: format!(
                            "the audit writer wrote {} entries for {}",
                            results.len(),
                            batch.len()
                        ),
                        fault: None,
                    };
                    for waiting in &batch {
                        waiting.done.set(Err(failed.clone()));
                    }
                }
                Err(e) => {
                    let failed = Failed::of(&e);
                    for waiting in &batch {
                        waiting.done.set(Err(failed.clone()));
                    }
                }
            }
        }
        done.wait()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test writes: (time, user); what it gets back: (seq, time, user).
    type Item = (i64, String);
    type Written = (i64, i64, String);

    #[test]
    fn concurrent_entries_share_transactions_and_each_gets_its_own() {
        let group: GroupCommit<Item, Written> = GroupCommit::default();
        let batches = Mutex::new(Vec::new());
        let results: Vec<Written> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..32)
                .map(|n| {
                    let (group, batches) = (&group, &batches);
                    scope.spawn(move || {
                        group
                            .submit((n as i64, format!("user-{n}")), |events| {
                                // A slow write, so others queue meanwhile.
                                std::thread::sleep(std::time::Duration::from_millis(5));
                                let mut b = batches.lock().expect("batches");
                                b.push(events.len());
                                let before: usize = b.iter().sum::<usize>() - events.len();
                                Ok(events
                                    .iter()
                                    .enumerate()
                                    .map(|(i, (t, u))| ((before + i + 1) as i64, *t, u.clone()))
                                    .collect())
                            })
                            .expect("written")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        // Every request got its own entry, and every entry was written once.
        for (n, (_, time, user)) in results.iter().enumerate() {
            assert_eq!(user, &format!("user-{n}"));
            assert_eq!(*time, n as i64);
        }
        let mut seqs: Vec<i64> = results.iter().map(|e| e.0).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=32).collect::<Vec<_>>());
        let batches = batches.into_inner().expect("batches");
        assert!(
            batches.len() < 32,
            "concurrent entries were not grouped: {batches:?}"
        );
    }

    #[test]
    fn a_failed_write_fails_every_entry_of_its_batch_and_keeps_the_fault() {
        let group: GroupCommit<Item, Written> = GroupCommit::default();
        let error = group
            .submit((1, "one".into()), |_| {
                let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
                Err(anyhow::Error::new(full).context("cannot write the audit trail"))
            })
            .expect_err("failed");
        assert_eq!(StorageFault::of(&error), Some(StorageFault::Full));
        // The next entry is written: the failure does not stick.
        let written = group
            .submit((2, "two".into()), |items| {
                Ok(items.iter().map(|(t, u)| (1, *t, u.clone())).collect())
            })
            .expect("written");
        assert_eq!(written.1, 2);
    }
}
