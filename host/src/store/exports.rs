//! Bulk export jobs and their files, kept in the store (not on one host's
//! disk) so that whichever replica a client reaches answers its status
//! polls and serves its files. Each write is short: a job's files are
//! added one at a time, each in its own statement, so an export never holds
//! the store's write lock for long.

use crate::store::database::{Connection, DbError, Row};

/// A job in progress whose progress has not moved for this long has lost
/// the host that ran it (stopped or killed): it is reported failed.
pub const STALE_AFTER_MS: i64 = 5 * 60 * 1000;

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Still running; what it is doing.
    InProgress(String),
    /// Done: the completion manifest (JSON text).
    Complete(String),
    /// Failed: why.
    Failed(String),
}

/// One bulk export job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// The organisation exported.
    pub org: String,
    /// The kick-off request's URL.
    pub request: String,
    /// Where it stands.
    pub state: JobState,
    /// When it was asked for.
    pub requested_ms: i64,
    /// Who asked.
    pub requested_by: String,
}

fn job_from_row(row: &Row, now_ms: i64) -> Result<Job, DbError> {
    let state: String = row.get(3)?;
    let progress: String = row.get(4)?;
    let updated_ms: i64 = row.get(7)?;
    let state = match state.as_str() {
        "complete" => JobState::Complete(row.get::<Option<String>>(8)?.unwrap_or_default()),
        "failed" => JobState::Failed(row.get::<Option<String>>(9)?.unwrap_or_default()),
        _ if now_ms - updated_ms > STALE_AFTER_MS => JobState::Failed(format!(
            "the host running this export stopped ({progress}, with no progress for {} minutes): start a new export",
            STALE_AFTER_MS / 60_000
        )),
        _ => JobState::InProgress(progress),
    };
    Ok(Job {
        id: row.get(0)?,
        org: row.get(1)?,
        request: row.get(2)?,
        state,
        requested_ms: row.get(5)?,
        requested_by: row.get(6)?,
    })
}

/// Records a new job, in progress.
pub fn create(db: &Connection, job: &Job, now_ms: i64) -> Result<(), DbError> {
    let progress = match &job.state {
        JobState::InProgress(p) => p.as_str(),
        _ => "accepted",
    };
    db.execute(
        "INSERT INTO exports (id, org, request, state, progress, requested_ms, requested_by, updated_ms) \
         VALUES (?1, ?2, ?3, 'in-progress', ?4, ?5, ?6, ?7)",
        &[
            &job.id,
            &job.org,
            &job.request,
            &progress,
            &job.requested_ms,
            &job.requested_by,
            &now_ms,
        ],
    )?;
    Ok(())
}

/// How many of an organisation's jobs are running now.
pub fn running(db: &Connection, org: &str, now_ms: i64) -> Result<i64, DbError> {
    db.query_one(
        "SELECT COUNT(*) FROM exports WHERE org = ?1 AND state = 'in-progress' AND updated_ms >= ?2",
        &[&org, &(now_ms - STALE_AFTER_MS)],
    )?
    .get(0)
}

/// One of an organisation's jobs.
pub fn job(db: &Connection, org: &str, id: &str, now_ms: i64) -> Result<Option<Job>, DbError> {
    db.query_opt(
        "SELECT id, org, request, state, progress, requested_ms, requested_by, updated_ms, manifest, error \
         FROM exports WHERE org = ?1 AND id = ?2",
        &[&org, &id],
    )?
    .map(|row| job_from_row(&row, now_ms))
    .transpose()
}

/// Says what a running job is doing; false if the job is gone (cancelled),
/// so the job stops.
pub fn set_progress(
    db: &Connection,
    id: &str,
    progress: &str,
    now_ms: i64,
) -> Result<bool, DbError> {
    Ok(db.execute(
        "UPDATE exports SET progress = ?2, updated_ms = ?3 WHERE id = ?1 AND state = 'in-progress'",
        &[&id, &progress, &now_ms],
    )? == 1)
}

/// Adds one of a job's files.
pub fn add_file(db: &Connection, id: &str, name: &str, content: &[u8]) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO export_files (export_id, name, content) VALUES (?1, ?2, ?3)",
        &[&id, &name, &content],
    )?;
    Ok(())
}

/// Marks a job complete with its manifest; false if it is gone (cancelled
/// meanwhile), and then its files are removed too.
pub fn complete(db: &Connection, id: &str, manifest: &str, now_ms: i64) -> Result<bool, DbError> {
    let done = db.execute(
        "UPDATE exports SET state = 'complete', progress = 'complete', manifest = ?2, updated_ms = ?3 \
         WHERE id = ?1 AND state = 'in-progress'",
        &[&id, &manifest, &now_ms],
    )? == 1;
    if !done {
        db.execute("DELETE FROM export_files WHERE export_id = ?1", &[&id])?;
    }
    Ok(done)
}

/// Marks a job failed, with why; its files (any written) are removed.
pub fn fail(db: &Connection, id: &str, error: &str, now_ms: i64) -> Result<(), DbError> {
    db.execute(
        "UPDATE exports SET state = 'failed', error = ?2, updated_ms = ?3 WHERE id = ?1",
        &[&id, &error, &now_ms],
    )?;
    db.execute("DELETE FROM export_files WHERE export_id = ?1", &[&id])?;
    Ok(())
}

/// Deletes a job and its files (a client's cancel, or its clean-up after
/// downloading); false if there was no such job.
pub fn delete(db: &Connection, org: &str, id: &str) -> Result<bool, DbError> {
    let tx = db.transaction()?;
    let gone = tx.execute(
        "DELETE FROM exports WHERE org = ?1 AND id = ?2",
        &[&org, &id],
    )? == 1;
    if gone {
        tx.execute("DELETE FROM export_files WHERE export_id = ?1", &[&id])?;
    }
    tx.commit()?;
    Ok(gone)
}

/// One file of a complete job of an organisation.
pub fn file(db: &Connection, org: &str, id: &str, name: &str) -> Result<Option<Vec<u8>>, DbError> {
    db.query_opt(
        "SELECT f.content FROM export_files f JOIN exports e ON e.id = f.export_id \
         WHERE e.org = ?1 AND e.id = ?2 AND e.state = 'complete' AND f.name = ?3",
        &[&org, &id, &name],
    )?
    .map(|row| row.get(0))
    .transpose()
}
