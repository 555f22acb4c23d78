//! Group commit, for audit entries: the entries of concurrent requests are
//! written in one transaction rather than one each. The first request to
//! arrive while no write is under way leads: it takes every entry waiting,
//! writes them together, commits, and hands each request its entry; it goes
//! on while more arrive. The others wait for theirs: a request (an async
//! task) without holding a thread, its batch written on the blocking pool.
//! No request is answered before its entry has committed, so nothing is lost on kill -9, and each
//! organisation's chain stays in order (entries are appended in the order
//! they arrived).
//!
//! Measured in `bench/load` (see `docs/benchmarks.md`): under concurrent
//! reads, each audited on its own, the write lock was taken once per
//! request.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::store::storage_fault::StorageFault;

/// One item waiting to be written, and where its result goes.
struct Waiting<T, R> {
    item: T,
    done: oneshot::Sender<Result<R, Failed>>,
}

/// Why a batch failed, for each request in it: the words, and whether the
/// store's disk was at fault (so the answer is 507 or 503, not 500).
#[derive(Debug, Clone)]
pub(crate) struct Failed {
    message: String,
    fault: Option<StorageFault>,
}

impl Failed {
    /// The words and the fault of `error`.
    pub(crate) fn of(error: &anyhow::Error) -> Failed {
        Failed {
            message: format!("{error:#}"),
            fault: StorageFault::of(error),
        }
    }

    /// The error again, for a request.
    pub(crate) fn into_error(self) -> anyhow::Error {
        match self.fault {
            Some(fault) => anyhow::Error::new(fault).context(self.message),
            None => anyhow::anyhow!(self.message),
        }
    }
}

/// A request's result, once its batch has committed (or failed).
fn outcome<R>(received: Result<Result<R, Failed>, oneshot::error::RecvError>) -> anyhow::Result<R> {
    received
        .map_err(|_| anyhow::anyhow!("the audit writer stopped before writing the entry"))?
        .map_err(Failed::into_error)
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
    /// Queues an item; `true` if no one is writing, so the caller leads.
    fn enqueue(&self, item: T) -> anyhow::Result<(oneshot::Receiver<Result<R, Failed>>, bool)> {
        let (done, result) = oneshot::channel();
        let mut queue = self
            .queue
            .lock()
            .map_err(|_| anyhow::anyhow!("the audit queue failed"))?;
        queue.waiting.push(Waiting { item, done });
        let lead = !queue.writing;
        queue.writing = true;
        Ok((result, lead))
    }

    /// Writes one item with whatever others are waiting, and returns its
    /// result once committed. `write` writes a batch in one transaction and
    /// returns a result per item, in order, or fails them all. Blocks: for
    /// threads that may (see [`GroupCommit::submit_async`] for async tasks).
    pub fn submit(
        &self,
        item: T,
        write: impl Fn(&[T]) -> anyhow::Result<Vec<R>>,
    ) -> anyhow::Result<R> {
        let (result, lead) = self.enqueue(item)?;
        if lead {
            self.lead(&write);
        }
        outcome(result.blocking_recv())
    }

    /// As [`GroupCommit::submit`], for an async task: it waits without a
    /// thread of its own, and a batch is written on the blocking pool, so
    /// under load one thread writes the entries of many requests and the
    /// others are woken, not scheduled, when theirs have committed.
    pub async fn submit_async(
        &self,
        item: T,
        write: impl Fn(&[T]) -> anyhow::Result<Vec<R>> + Send + 'static,
    ) -> anyhow::Result<R>
    where
        T: Send + 'static,
        R: Send + 'static,
    {
        let (result, lead) = self.enqueue(item)?;
        if lead {
            let group = self.clone();
            tokio::task::spawn_blocking(move || group.lead(&write));
        }
        outcome(result.await)
    }

    /// Writes batches until no one is waiting.
    fn lead(&self, write: &impl Fn(&[T]) -> anyhow::Result<Vec<R>>) {
        loop {
            let batch = {
                let Ok(mut queue) = self.queue.lock() else {
                    // Each waiting sender is dropped with the queue: its
                    // request is told the writer stopped.
                    return;
                };
                if queue.waiting.is_empty() {
                    queue.writing = false;
                    return;
                }
                std::mem::take(&mut queue.waiting)
            };
            let items: Vec<T> = batch.iter().map(|w| w.item.clone()).collect();
            match write(&items) {
                Ok(results) if results.len() == batch.len() => {
                    for (waiting, result) in batch.into_iter().zip(results) {
                        let _ = waiting.done.send(Ok(result));
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
                    for waiting in batch {
                        let _ = waiting.done.send(Err(failed.clone()));
                    }
                }
                Err(e) => {
                    let failed = Failed::of(&e);
                    for waiting in batch {
                        let _ = waiting.done.send(Err(failed.clone()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test writes: (time, user); what it gets back: (seq, time, user).
    type Item = (i64, String);
    type Written = (i64, i64, String);

    /// A slow write (so others queue meanwhile) that numbers a batch's
    /// items after every batch before it, and notes the batch's size.
    fn numbered(batches: &Mutex<Vec<usize>>, events: &[Item]) -> Vec<Written> {
        std::thread::sleep(std::time::Duration::from_millis(5));
        let mut b = batches.lock().expect("batches");
        b.push(events.len());
        let before: usize = b.iter().sum::<usize>() - events.len();
        events
            .iter()
            .enumerate()
            .map(|(i, (t, u))| ((before + i + 1) as i64, *t, u.clone()))
            .collect()
    }

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
                                Ok(numbered(batches, events))
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_requests_share_transactions_and_each_gets_its_own() {
        let group: GroupCommit<Item, Written> = GroupCommit::default();
        let batches = Arc::new(Mutex::new(Vec::<usize>::new()));
        // One write for every request, as in the host: whichever request
        // leads writes the others' items with its own closure, and a
        // leader may still be looping when the next request arrives. It
        // fails any batch holding the item "late".
        let write = {
            let batches = batches.clone();
            move |items: &[Item]| {
                if items.iter().any(|(_, u)| u == "late") {
                    anyhow::bail!("the disk is gone");
                }
                Ok(numbered(&batches, items))
            }
        };
        let tasks: Vec<_> = (0..32)
            .map(|n| {
                let (group, write) = (group.clone(), write.clone());
                tokio::spawn(async move {
                    group
                        .submit_async((n as i64, format!("user-{n}")), write)
                        .await
                        .expect("written")
                })
            })
            .collect();
        let mut seqs = Vec::new();
        for (n, task) in tasks.into_iter().enumerate() {
            let (seq, time, user) = task.await.expect("task");
            assert_eq!((time, user), (n as i64, format!("user-{n}")));
            seqs.push(seq);
        }
        seqs.sort();
        assert_eq!(seqs, (1..=32).collect::<Vec<_>>());
        let grouped = batches.lock().expect("batches").clone();
        assert!(
            grouped.len() < 32,
            "concurrent entries were not grouped: {grouped:?}"
        );
        // A failed batch fails its requests, with the reason; the next is
        // written.
        let failed = group
            .submit_async((99, "late".into()), write.clone())
            .await
            .expect_err("failed");
        assert!(failed.to_string().contains("the disk is gone"), "{failed}");
        let written = group
            .submit_async((100, "later".into()), write)
            .await
            .expect("written");
        assert_eq!((written.0, written.1), (33, 100));
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
